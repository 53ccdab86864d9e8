import { isAbsolute, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { ProxyError } from '../../errors.js';
import { upstreamPath } from '../../lib/request-target.js';
import type { AdapterRequest, Classification, Connection } from '../types.js';
import { AUDIT_KIND, type ClassifiedRef, classifyRef, compileRefGlobs, KIND_LABEL, overallKind } from './classify-refs.js';
import { GitPushRefusal, GitServiceError } from './errors.js';
import { refChanges } from './changes.js';
import { freshMirror, MirrorError, mirrorKey } from './mirror.js';
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

const compiledGlobs = new WeakMap<object, (ref: string) => boolean>();

/** The connection's `protectedRefs` as a matcher (compiled once per connection; also used by a forge's API ref updates). */
export function protectedMatcher(conn: GitConnection): (ref: string) => boolean {
  let m = compiledGlobs.get(conn);
  if (!m) {
    m = compileRefGlobs(conn.options.protectedRefs);
    compiledGlobs.set(conn, m);
  }
  return m;
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

/**
 * Classifies a push: spools the body, brings the mirror up to date with
 * the brokered credential, indexes the pack into a quarantine, and
 * classifies every ref update by real ancestry. The forwarded body is the
 * spooled file, byte for byte.
 */
export async function classifyPush(req: AdapterRequest, route: GitRoute): Promise<Classification> {
  const conn = req.connection as GitConnection;
  const encoding = req.headers['content-encoding'];
  // The gateway must read the commands it decides on; git never compresses push bodies, so a coded one is refused rather than trusted.
  if (encoding !== undefined && encoding !== 'identity') {
    throw new GitServiceError('ERR_BAD_REQUEST', 'compressed receive-pack bodies are not accepted', route);
  }
  const live = await startSpool(req.body, HEAD_LIMITS);
  let spool: SpooledPush;
  let refs: ClassifiedRef[];
  let commits: number;
  let quarantine: Quarantine;
  let stage: 'body' | 'mirror' | 'pack' = 'body';
  let progress: GitProgress | undefined;
  try {
    // The mirror is brought up to date while the pack is still arriving, and the pack is indexed as it lands on disk:
    // the gateway's extra work overlaps the upload instead of following it.
    const mirrorReady = (async () => {
      const lease = req.lease ? await req.lease() : undefined;
      const base = new URL(conn.upstream);
      const upstreamUrl = `${base.origin}${upstreamPath(base, route.rawRepo, '')}`;
      const key = mirrorKey(base, route.repo);
      return freshMirror({ cacheDir: cacheDirOf(conn, req.dataDir), key, upstreamUrl, lease, timeoutMs: conn.options.mirrorTimeoutMs });
    })();
    mirrorReady.catch(() => {});
    const head = await live.head;
    const needsPack = head.commands.some((c) => !isZeroSha(c.new));
    // Once the body is in, the client waits on the gateway alone: keep it alive from then on.
    progress = GitProgress.forPush(req.client, head, conn.options.progressIntervalMs, "updating the gateway's mirror of the repository");
    live.done.then(
      () => progress?.arm(),
      () => {},
    );
    stage = 'mirror';
    let mirror: Awaited<typeof mirrorReady>;
    try {
      mirror = await mirrorReady;
    } catch (err) {
      const failure = mirrorFailure(err, route, conn.name, conn.options.mirrorTimeoutMs);
      if (!failure) throw err;
      await live.cleanup();
      return unclassified(head, route, failure, progress);
    }
    progress?.phase('checking the pushed commits');
    stage = 'pack';
    const quarantined = quarantinePack(mirror, live.dir, needsPack ? live.follow(head.packOffset) : undefined, conn.options.mirrorTimeoutMs);
    quarantined.catch(() => {});
    stage = 'body';
    spool = await live.done;
    stage = 'pack';
    const q = await quarantined;
    quarantine = q;
    const isProtected = protectedMatcher(conn);
    refs = [];
    for (const cmd of head.commands) refs.push(await classifyRef(cmd, q, isProtected));
    const tips = refs.filter((r) => r.kind !== 'git.delete_ref' && r.kind !== 'git.tag_delete').map((r) => r.new);
    commits = await q.countNewCommits(tips);
  } catch (err) {
    progress?.stop();
    await live.cleanup();
    throw await pushError(err, stage, live, route, conn.name);
  }
  const { head } = spool;
  progress?.phase('forwarding the push');

  // The quarantine stays beside the open body until it closes: a held push shows the approver its commits from it.
  const body = await openSpooled(spool, true);
  const timer = setTimeout(() => {
    if (!body.readableDidRead) body.destroy();
  }, UNREAD_BODY_MS);
  timer.unref();
  body.once('close', () => clearTimeout(timer));

  const kind = overallKind(refs);
  return {
    kind,
    attributes: { repo: route.repo, service: route.service, refs: refs.map((r) => r.ref), kinds: [...new Set(refs.map((r) => r.kind))] },
    body,
    bodyLength: spool.size,
    bodyDigest: { sha256: spool.sha256, bytes: spool.size },
    details: async () => ({ git: { repo: route.repo, refs: await refChanges(quarantine, refs) } }),
    audit: { git: gitAudit(refs, undefined, commits, spool.size) },
    ...(progress && { keepAlive: progress }),
    // A push changes the upstream: once forwarded whole, its report is read and recorded even without a client.
    effect: { observe: () => new PushReportObserver(head.capabilities) },
    parts: {
      actions: refs.map((r) => ({
        kind: r.kind,
        attributes: { repo: route.repo, ref: r.ref, refType: r.refType, old: r.old, new: r.new, fastForward: r.fastForward, protected: r.protected },
      })),
      settle(decisions) {
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
        return { audit, refusal: new GitPushRefusal(code, message, { refs: reasons, capabilities: head.capabilities }) };
      },
    },
  };
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

