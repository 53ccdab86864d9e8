import { isAbsolute, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { compileGlobs, type GlobMatcher } from '@agentgate/policy';
import { ProxyError } from '../../errors.js';
import { upstreamPath } from '../../lib/request-target.js';
import { type PerConnection, perConnection } from '../per-connection.js';
import type { AdapterRequest, Classification, Connection } from '../types.js';
import { AUDIT_KIND, type ClassifiedRef, classifyRef, KIND_LABEL, overallKind } from './classify-refs.js';
import { GitPushRefusal, GitServiceError } from './errors.js';
import { refChanges } from './changes.js';
import { freshMirror, type Mirror, MirrorError, mirrorKey } from './mirror.js';
import { PktLineError } from './pkt-line.js';
import { GitProgress } from './progress.js';
import { type Quarantine, QuarantineError, quarantinePack } from './quarantine.js';
import { PushReportObserver } from './report-status.js';
import type { GitRoute } from './route.js';
import { isZeroSha, type ReceivePackHead } from './receive-pack-head.js';
import { type LiveSpool, openSpooled, type SpooledPush, startSpool } from './spool.js';

type GitConnection = Extract<Connection, { type: 'git' }>;
type PartDecision = { effect: 'allow' | 'deny' | 'review'; rule: string | null; reason: string };

const HEAD_LIMITS = { maxHeadBytes: 4 * 1024 * 1024, maxCommands: 5000 };
// A spooled body nobody forwards (the request failed after classification) is closed after this long. The pipeline
// closes it itself on every refusal; this is the backstop, longer than the longest approval hold (1 h).
const UNREAD_BODY_MS = 65 * 60_000;

/** Each git connection's `protectedRefs`, compiled at start-up (gitAdapter.checkConnection). */
export const protectedRefs: PerConnection<GlobMatcher> = perConnection((conn) => compileGlobs(gitConnection(conn).options.protectedRefs, { dialect: 'path' }));

/** The connection's `protectedRefs` as a matcher (compiled once per connection; also used by a forge's API ref updates). */
export function protectedMatcher(conn: GitConnection): GlobMatcher {
  return protectedRefs.of(conn);
}

function gitConnection(conn: Connection): GitConnection {
  if (conn.type !== 'git') throw new TypeError(`connection "${conn.name}" is not a git connection`);
  return conn;
}

/** Where the connection keeps its mirrors (shared with a forge connection that decides API ref updates on them). */
export function cacheDirOf(conn: GitConnection, dataDir: string | undefined): string {
  const dir = conn.options.cacheDir ?? join(dataDir ?? join(tmpdir(), 'agentgate'), 'git-mirrors');
  return isAbsolute(dir) ? dir : resolve(dir);
}

/** The text `git push` shows in `! [remote rejected] <ref> (<text>)`. */
function refusalText(ref: ClassifiedRef, d: PartDecision): string {
  const label = KIND_LABEL[ref.kind];
  if (d.effect === 'review') return `${label} needs approval${d.rule ? ` (rule ${d.rule})` : ''}`;
  const by = d.rule ? `denied by rule ${d.rule}` : 'denied by the policy default';
  // The policy's generated reasons repeat the rule; an author's own reason is worth showing.
  return d.reason && !d.reason.startsWith('denied by') ? `${label} ${by}: ${d.reason}` : `${label} ${by}`;
}

/** What the gateway learnt of a push before deciding it: the spooled body, its ref updates by real ancestry, the commits it adds. */
export interface InspectedPush {
  readonly spool: SpooledPush;
  readonly refs: readonly ClassifiedRef[];
  readonly commits: number;
  /** The pack's objects beside the mirror's history (a held push shows the approver its commits from it). */
  readonly quarantine: Quarantine;
}

type PushStage = 'body' | 'mirror' | 'pack';

/**
 * One push being inspected, stage by stage: the mirror is brought up to
 * date while the pack is still arriving, and the pack is indexed as it lands
 * on disk, so the gateway's extra work overlaps the upload instead of
 * following it. `stage` says what a failure was waiting for (see pushError).
 */
class PushInspection {
  stage: PushStage = 'body';
  progress: GitProgress | undefined;

  constructor(
    readonly req: AdapterRequest,
    readonly conn: GitConnection,
    readonly route: GitRoute,
    readonly live: LiveSpool,
  ) {}

  /** Runs every stage: the inspected push, or the classification of a push whose history could not be read. */
  async run(): Promise<InspectedPush | Classification> {
    const mirrorReady = this.updateMirror();
    mirrorReady.catch(() => {});
    const head = await this.receiveHead();
    this.stage = 'mirror';
    let mirror: Mirror;
    try {
      mirror = await mirrorReady;
    } catch (err) {
      const failure = mirrorFailure(err, this.route, this.conn.name, this.conn.options.mirrorTimeoutMs);
      if (!failure) throw err;
      await this.live.cleanup();
      return unclassified(head, this.route, failure, this.progress);
    }
    return this.inspectPack(mirror, head);
  }

  /** Brings the gateway's mirror of the repository up to date, with the connection's credential. */
  async updateMirror(): Promise<Mirror> {
    const { req, conn, route } = this;
    const lease = req.lease ? await req.lease() : undefined;
    const base = new URL(conn.upstream);
    const upstreamUrl = `${base.origin}${upstreamPath(base, route.rawRepo, '')}`;
    const key = mirrorKey(base, route.repo);
    return freshMirror({ cacheDir: cacheDirOf(conn, req.dataDir), key, upstreamUrl, lease, timeoutMs: conn.options.mirrorTimeoutMs });
  }

  /** The ref-update commands; from the end of the body on the client waits on the gateway alone, so it is kept alive. */
  async receiveHead(): Promise<ReceivePackHead> {
    const head = await this.live.head;
    this.progress = GitProgress.forPush(this.req.client, head, this.conn.options.progressIntervalMs, "updating the gateway's mirror of the repository");
    this.live.done.then(
      () => this.progress?.arm(),
      () => {},
    );
    return head;
  }

  /** Indexes the pack into a quarantine beside the mirror and classifies every ref update by ancestry. */
  async inspectPack(mirror: Mirror, head: ReceivePackHead): Promise<InspectedPush> {
    this.progress?.phase('checking the pushed commits');
    this.stage = 'pack';
    const needsPack = head.commands.some((c) => !isZeroSha(c.new));
    const quarantined = quarantinePack(mirror, this.live.dir, needsPack ? this.live.follow(head.packOffset) : undefined, this.conn.options.mirrorTimeoutMs);
    quarantined.catch(() => {});
    this.stage = 'body';
    const spool = await this.live.done;
    this.stage = 'pack';
    const quarantine = await quarantined;
    const isProtected = protectedMatcher(this.conn);
    const refs: ClassifiedRef[] = [];
    for (const cmd of head.commands) refs.push(await classifyRef(cmd, quarantine, isProtected));
    const tips = refs.filter((r) => r.kind !== 'git.delete_ref' && r.kind !== 'git.tag_delete').map((r) => r.new);
    const commits = await quarantine.countNewCommits(tips);
    return { spool, refs, commits, quarantine };
  }
}

/**
 * Classifies a push: spools the body, brings the mirror up to date with
 * the brokered credential, indexes the pack into a quarantine, and
 * classifies every ref update by real ancestry. The forwarded body is the
 * spooled file, byte for byte.
 */
export async function classifyPush(req: AdapterRequest, route: GitRoute): Promise<Classification> {
  const conn = gitConnection(req.connection);
  const encoding = req.headers['content-encoding'];
  // The gateway must read the commands it decides on; git never compresses push bodies, so a coded one is refused rather than trusted.
  if (encoding !== undefined && encoding !== 'identity') {
    throw new GitServiceError('ERR_BAD_REQUEST', 'compressed receive-pack bodies are not accepted', route);
  }
  const push = new PushInspection(req, conn, route, await startSpool(req.body, HEAD_LIMITS));
  let inspected: InspectedPush | Classification;
  try {
    inspected = await push.run();
  } catch (err) {
    push.progress?.stop();
    await push.live.cleanup();
    throw await pushError(err, push.stage, push.live, route, conn.name);
  }
  if (!('spool' in inspected)) return inspected;
  push.progress?.phase('forwarding the push');
  const body = await forwardedBody(inspected.spool);
  return pushClassification(route, inspected, body, push.progress);
}

/** The spooled body to forward; closed if nobody reads it for long (the request failed after classification). */
async function forwardedBody(spool: SpooledPush): Promise<Readable> {
  // The quarantine stays beside the open body until it closes: a held push shows the approver its commits from it.
  const body = await openSpooled(spool, true);
  const timer = setTimeout(() => {
    if (!body.readableDidRead) body.destroy();
  }, UNREAD_BODY_MS);
  timer.unref();
  body.once('close', () => clearTimeout(timer));
  return body;
}

/** The classification of an inspected push: decided ref by ref (all-or-nothing), forwarded byte for byte. */
export function pushClassification(route: GitRoute, push: InspectedPush, body: Readable, progress?: GitProgress): Classification {
  const { spool, refs, commits, quarantine } = push;
  return {
    kind: overallKind(refs),
    attributes: { repo: route.repo, service: route.service, refs: refs.map((r) => r.ref), kinds: [...new Set(refs.map((r) => r.kind))] },
    body,
    bodyLength: spool.size,
    bodyDigest: { sha256: spool.sha256, bytes: spool.size },
    details: async () => ({ git: { repo: route.repo, refs: await refChanges(quarantine, refs) } }),
    audit: { git: gitAudit(refs, undefined, commits, spool.size) },
    ...(progress && { keepAlive: progress }),
    // A push changes the upstream: once forwarded whole, its report is read and recorded even without a client.
    effect: { observe: () => new PushReportObserver(spool.head.capabilities) },
    parts: {
      actions: refs.map((r) => ({
        kind: r.kind,
        attributes: { repo: route.repo, ref: r.ref, refType: r.refType, old: r.old, new: r.new, fastForward: r.fastForward, protected: r.protected },
      })),
      settle: (decisions) => settlePush(push, body, decisions),
    },
  };
}

/** Audit fields of the decided refs, and the refusal `git push` shows ref by ref when any was not allowed. */
export function settlePush(
  push: InspectedPush,
  body: Readable,
  decisions: readonly PartDecision[],
): { audit: Classification['audit']; refusal?: GitPushRefusal } {
  const { spool, refs, commits } = push;
  const audit = { git: gitAudit(refs, decisions, commits, spool.size) };
  if (decisions.every((d) => d.effect === 'allow')) {
    // Forwarded as is: the quarantined objects are not needed any more.
    void spool.cleanup().catch(() => {});
    return { audit };
  }
  // Nothing will read the spooled body after a denial: close it now. A review may be held: the pipeline
  // forwards or closes the body (and the quarantine with it).
  if (decisions.some((d) => d.effect === 'deny')) body.destroy();
  const reasons = refs.map((r, i) => {
    const d = decisions[i];
    return { ref: r.ref, reason: d && d.effect !== 'allow' ? refusalText(r, d) : 'push refused: another ref in this push was denied (all-or-nothing)' };
  });
  const first = decisions.find((d) => d.effect === 'deny') ?? decisions.find((d) => d.effect !== 'allow');
  const code = first?.effect === 'review' ? 'ERR_APPROVAL_REQUIRED' : 'ERR_POLICY_DENIED';
  const message = reasons.find((_r, i) => decisions[i]?.effect !== 'allow')?.reason ?? 'push refused by policy';
  return { audit, refusal: new GitPushRefusal(code, message, { refs: reasons, capabilities: spool.head.capabilities }) };
}

/**
 * The mirror could not be brought up to date (upstream unreachable or too
 * slow, credential unavailable): the push cannot be classified. Undefined
 * for failures that are not about reading the upstream.
 */
function mirrorFailure(err: unknown, route: GitRoute, connection: string, timeoutMs: number): ProxyError | undefined {
  const what = `connection "${connection}": the gateway could not read the upstream repository's history`;
  if (err instanceof MirrorError && err.timedOut) {
    return new GitServiceError('ERR_UPSTREAM_TIMEOUT', `${what}: the mirror update took longer than ${timeoutMs} ms (mirrorTimeoutMs)`, route, err);
  }
  if (err instanceof MirrorError) return new GitServiceError('ERR_UPSTREAM_UNREACHABLE', `${what}: the mirror update failed`, route, err);
  if (err instanceof ProxyError && err.code === 'ERR_CREDENTIAL_UNAVAILABLE') return err;
  return undefined;
}

// Nothing is provably a fast-forward without the history: every update of an existing ref counts as a force-push (fail closed).
const NO_HISTORY: Quarantine = { isAncestor: async () => false, countNewCommits: async () => 0 };

/** A push the gateway could not classify: recorded as failed with the refs it names (kinds fail closed), refused, never forwarded. */
async function unclassified(head: ReceivePackHead, route: GitRoute, failure: ProxyError, progress: GitProgress | undefined): Promise<Classification> {
  const refs: ClassifiedRef[] = [];
  for (const cmd of head.commands) refs.push(await classifyRef(cmd, NO_HISTORY, () => false));
  return {
    kind: overallKind(refs),
    attributes: { repo: route.repo, service: route.service, refs: refs.map((r) => r.ref), kinds: [...new Set(refs.map((r) => r.kind))] },
    audit: { git: gitAudit(refs, undefined, 0, 0) },
    failure,
    ...(progress && { keepAlive: progress }),
  };
}

/** Maps a failure while classifying a push to what the git client is shown. */
async function pushError(err: unknown, stage: 'body' | 'mirror' | 'pack', live: LiveSpool, route: GitRoute, connection: string): Promise<Error> {
  if (err instanceof PktLineError) return new GitServiceError('ERR_BAD_REQUEST', err.message, route, err);
  if (err instanceof ProxyError) return err;
  if (err instanceof MirrorError) return mirrorFailure(err, route, connection, 0) ?? err;
  if (err instanceof QuarantineError || stage === 'pack') {
    const head = await live.head;
    return new GitPushRefusal('ERR_BAD_REQUEST', 'the pushed pack is truncated or corrupt', {
      refs: head.commands.map((c) => ({ ref: c.ref, reason: 'unpacker error' })),
      capabilities: head.capabilities,
      unpack: 'index-pack failed: the pack is truncated or corrupt',
      cause: err,
    });
  }
  return new GitServiceError('ERR_BAD_REQUEST', 'the push request body could not be read', route, err);
}

function gitAudit(refs: readonly ClassifiedRef[], decisions: readonly PartDecision[] | undefined, commits: number, bytes: number) {
  return {
    refs: refs.map((r, i) => ({
      ref: r.ref,
      old: r.old,
      new: r.new,
      kind: AUDIT_KIND[r.kind],
      ...(decisions?.[i] && { decision: decisions[i].effect }),
    })),
    commits,
    bytes,
  };
}
