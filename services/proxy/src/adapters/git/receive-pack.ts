import { isAbsolute, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { ProxyError } from '../../errors.js';
import { upstreamPath } from '../../lib/request-target.js';
import type { AdapterRequest, Classification, Connection } from '../types.js';
import { AUDIT_KIND, type ClassifiedRef, classifyRef, compileRefGlobs, KIND_LABEL, overallKind } from './classify-refs.js';
import { GitPushRefusal, GitServiceError } from './errors.js';
import { MirrorError, withFreshMirror } from './mirror.js';
import { PktLineError } from './pkt-line.js';
import { QuarantineError, quarantinePack } from './quarantine.js';
import type { GitRoute } from './route.js';
import { openSpooled, type SpooledPush, spoolReceivePack } from './spool.js';

type GitConnection = Extract<Connection, { type: 'git' }>;
type PartDecision = { effect: 'allow' | 'deny' | 'review'; rule: string | null; reason: string };

const HEAD_LIMITS = { maxHeadBytes: 4 * 1024 * 1024, maxCommands: 5000 };
// A spooled body nobody forwards (the request failed after classification) is closed after this long.
const UNREAD_BODY_MS = 10 * 60_000;

const compiledGlobs = new WeakMap<object, (ref: string) => boolean>();

function protectedMatcher(conn: GitConnection): (ref: string) => boolean {
  let m = compiledGlobs.get(conn);
  if (!m) {
    m = compileRefGlobs(conn.options.protectedRefs);
    compiledGlobs.set(conn, m);
  }
  return m;
}

function cacheDirOf(conn: GitConnection, dataDir: string | undefined): string {
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
  let spool: SpooledPush;
  try {
    spool = await spoolReceivePack(req.body, HEAD_LIMITS);
  } catch (err) {
    if (err instanceof PktLineError) throw new GitServiceError('ERR_BAD_REQUEST', err.message, route, err);
    if (err instanceof ProxyError) throw err;
    throw new GitServiceError('ERR_BAD_REQUEST', 'the push request body could not be read', route, err);
  }
  const { head } = spool;
  let refs: ClassifiedRef[];
  let commits: number;
  try {
    const lease = req.lease ? await req.lease() : undefined;
    const base = new URL(conn.upstream);
    const upstreamUrl = `${base.origin}${upstreamPath(base, route.rawRepo, '')}`;
    const timeoutMs = conn.options.mirrorTimeoutMs;
    ({ refs, commits } = await withFreshMirror(
      { cacheDir: cacheDirOf(conn, req.dataDir), connection: conn.name, repoPath: route.repo, upstreamUrl, lease, timeoutMs },
      async (mirror) => {
        const q = await quarantinePack(mirror, { ...spool, packOffset: head.packOffset }, timeoutMs);
        const isProtected = protectedMatcher(conn);
        const out: ClassifiedRef[] = [];
        for (const cmd of head.commands) out.push(await classifyRef(cmd, q, isProtected));
        const tips = out.filter((r) => r.kind !== 'git.delete_ref' && r.kind !== 'git.tag_delete').map((r) => r.new);
        return { refs: out, commits: await q.countNewCommits(tips) };
      },
    ));
  } catch (err) {
    await spool.cleanup();
    if (err instanceof QuarantineError) {
      throw new GitPushRefusal('ERR_BAD_REQUEST', 'the pushed pack is truncated or corrupt', {
        refs: head.commands.map((c) => ({ ref: c.ref, reason: 'unpacker error' })),
        capabilities: head.capabilities,
        unpack: 'index-pack failed: the pack is truncated or corrupt',
        cause: err,
      });
    }
    if (err instanceof MirrorError) {
      throw new GitServiceError('ERR_UPSTREAM_UNREACHABLE', `connection "${conn.name}": the gateway could not read the upstream repository's history`, route, err);
    }
    throw err;
  }

  const body = await openSpooled(spool);
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
    audit: { git: gitAudit(refs, undefined, commits, spool.size) },
    parts: {
      actions: refs.map((r) => ({
        kind: r.kind,
        attributes: { repo: route.repo, ref: r.ref, refType: r.refType, old: r.old, new: r.new, fastForward: r.fastForward, protected: r.protected },
      })),
      settle(decisions) {
        const audit = { git: gitAudit(refs, decisions, commits, spool.size) };
        if (decisions.every((d) => d.effect === 'allow')) return { audit };
        // Nothing will read the spooled body: close it now.
        body.destroy();
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

