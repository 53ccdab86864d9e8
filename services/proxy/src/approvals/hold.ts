import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Config } from '@agentgate/config';
import type { Logger } from '@agentgate/log';
import type { Masker } from '@agentgate/masking';
import type { HeldDetails } from '../adapters/types.js';
import { ProxyError } from '../errors.js';
import { type ActionFacts, actionEvent } from '../pipeline/events.js';
import type { AuditRecorder } from '../pipeline/record.js';
import { bodyPreview, buildBinding } from './binding.js';
import { approvalFields, decisionEvent } from './events.js';
import { identityOf } from './four-eyes.js';
import type { ApprovalRecord, Revisioned } from './record.js';
import { adapterBody, type SpooledBody, spoolBody } from './spool.js';
import type { ApprovalStore } from './store.js';
import { processMetrics } from '@agentgate/telemetry';

/** Bytes of a body kept in memory to build the approver's preview (masked whole, then cut for display). */
const PREVIEW_SCAN_BYTES = 64 * 1024;

/** What the pipeline and the approver API need to hold and decide actions; built once per proxy. */
export interface Approvals {
  readonly store: ApprovalStore;
  readonly config: Config['approvals'];
  /** Detector masker for what the approver is shown (attributes, headers, body preview). */
  readonly masker: Masker;
  /** The raw audit stream: the holder records `held`, the deciding proxy records the decision. */
  readonly recorder: AuditRecorder;
  /** This gateway instance (`observer.name`). */
  readonly observerName: string;
  /** SHA-256 of the canonical policy section, computed at start-up. */
  readonly policyVersion: string;
  /** Where large held bodies are spooled (unlinked files). */
  readonly spoolDir: string;
  /** The console's base URL (`…/_agentgate/console`), for the link a held client and the approvers are sent. */
  readonly consoleUrl?: string;
  /** Tells approver groups about a new hold (webhooks); never blocks or fails the hold. */
  readonly notifier?: { held(rec: ApprovalRecord): void };
}

/** Where an approver decides this approval: the console page, else the REST path. */
export function approvalLink(a: Pick<Approvals, 'consoleUrl'>, id: string): string {
  return a.consoleUrl ? `${a.consoleUrl}/approvals/${encodeURIComponent(id)}` : `/_agentgate/approvals/${encodeURIComponent(id)}`;
}

/** A runtime that may hold `review` decisions. */
export interface WithApprovals {
  readonly approvals?: Approvals;
}

/** True when a `review` can be held: somebody is allowed to decide. */
export function canHold(a: Approvals | undefined): a is Approvals {
  return a !== undefined && a.config.approverGroups.length > 0;
}

interface HoldContext {
  approvals: Approvals;
  facts: ActionFacts;
  req: IncomingMessage;
  res: ServerResponse;
  /** The request line as policy saw it (path after the connection name; query as sent). */
  request: { method: string; path: string; rawQuery: string };
  /** What the forwarder would send: the adapter's own bytes, else the client's body stream; null for none. */
  body: Readable | Buffer | null;
  /** The adapter's digest of `body` (it holds those exact bytes): bound as is, not read again. */
  bodyDigest?: { sha256: string; bytes: number } | undefined;
  /** Content-Length the client declared, to refuse an oversized body before reading it. */
  declaredLength: number | undefined;
  idleTimeoutMs: number;
  log: () => Logger;
}

/** The approved body, exactly the bytes the approver saw the digest of. */
export interface Released {
  body: Buffer | Readable | null;
  length: number | undefined;
}

/**
 * Holds an action until a human decides, bound to the exact action: reads
 * the whole body first (bounded by `approvals.maxBodyBytes`), so the hold
 * is created only once the bytes are known; stores the record (binding with
 * body digest, masked preview, policy version), records `held` durably, and
 * waits. Resolves with the approved bytes once approved, recorded and
 * consumed; throws the refusal otherwise. The spooled body is released when
 * the response closes, whatever happened.
 */
export async function holdForApproval(ctx: HoldContext): Promise<Released> {
  const { approvals } = ctx;
  const max = approvals.config.maxBodyBytes;
  let spooled: SpooledBody | null;
  try {
    if (ctx.declaredLength !== undefined && ctx.declaredLength > max && !ctx.bodyDigest) {
      throw new ProxyError('ERR_APPROVAL_BODY_TOO_LARGE', `a request held for approval may carry at most ${max} bytes of body (approvals.maxBodyBytes)`);
    }
    // Checked before reading a body, so a principal over its cap cannot make the gateway spool anything.
    await checkCap(approvals, ctx.facts, undefined);
    spooled =
      ctx.body === null
        ? null
        : ctx.bodyDigest
          ? adapterBody(ctx.body, ctx.bodyDigest)
          : await spoolBody(ctx.body, {
              maxBytes: max,
              memoryBytes: approvals.config.spoolMemoryBytes,
              dir: approvals.spoolDir,
              headBytes: PREVIEW_SCAN_BYTES,
            });
  } catch (err) {
    // A review that could not be held is still an attempt the SOC should see (too large, over the cap, client gone).
    const why = err instanceof ProxyError ? `not held for approval: ${err.message}` : 'not held for approval: internal error';
    approvals.recorder.recordLater(actionEvent(ctx.facts, 'failed', { categories: ['iam'], outcome: 'failure', reason: why }));
    throw err;
  }
  try {
    const released = await holdSpooled(ctx, spooled);
    if (spooled) {
      if (ctx.res.destroyed) void spooled.close();
      else ctx.res.once('close', () => void spooled.close());
    }
    return released;
  } catch (err) {
    await spooled?.close();
    throw err;
  }
}

async function holdSpooled(ctx: HoldContext, spooled: SpooledBody | null): Promise<Released> {
  const { approvals, facts } = ctx;
  const { store, recorder } = approvals;
  const record = newRecord(ctx, spooled, await heldDetails(ctx));
  // No record, no hold: the hold is on the trail before any approver can see (and decide) it.
  await recorder.record(actionEvent(facts, 'held', { categories: ['iam'], approval: approvalFields(record) }));
  const gaveUp = (rec: ApprovalRecord, why: string): void =>
    recorder.recordLater(actionEvent(facts, 'failed', { categories: ['iam'], outcome: 'failure', reason: why, approval: approvalFields(rec) }));
  let created: Revisioned;
  try {
    created = await store.create(record);
  } catch (err) {
    gaveUp({ ...record, status: 'cancelled' }, 'the approvals store is unavailable');
    throw new ProxyError('ERR_APPROVALS_UNAVAILABLE', undefined, { cause: err });
  }
  try {
    // Two holds racing past the first check: the later one in the shared order gives way.
    await checkCap(approvals, facts, record.id);
  } catch (err) {
    const cas = await store.decide(created, 'cancelled', approvals.observerName).catch(() => undefined);
    gaveUp(cas?.rec.record ?? { ...record, status: 'cancelled' }, (err as Error).message);
    throw err;
  }
  ctx
    .log()
    .info({ approvalId: record.id, rule: record.rule, expiresAt: record.expiresAt, bodySha256: record.binding.body?.sha256 }, 'action held for approval');
  // The client learns at once who must decide and where (git: `remote: agentgate: held for approval by …`).
  const keepAlive = facts.classification.keepAlive;
  keepAlive?.notice(`held for approval by ${approvals.config.approverGroups.join(', ')}: ${record.id} ${approvalLink(approvals, record.id)}`);
  keepAlive?.phase('waiting for approval');
  approvals.notifier?.held(record);
  const metrics = processMetrics();
  metrics.approvalsPending.inc();

  const abort = new AbortController();
  const onClose = (): void => {
    if (!ctx.res.writableFinished) abort.abort();
  };
  ctx.res.on('close', onClose);
  // The approval deadline bounds the wait; the idle socket timeout must not cut a held request first.
  ctx.req.socket.setTimeout(0);
  try {
    const result = await store.wait(record.id, Date.parse(record.expiresAt), abort.signal);
    let final = result.kind === 'decided' ? result.rec : undefined;
    if (!final) {
      // Timeout or client gone: the CAS decides; if an approver won the race, their decision stands.
      const base = result.rec ?? created;
      const cas = await store.decide(base, result.kind === 'timeout' ? 'expired' : 'cancelled', approvals.observerName);
      final = cas.rec;
    }
    metrics.approvalsDecided.inc({ decision: final.record.status });
    await finish(ctx, final, abort.signal.aborted);
    const body = spooled ? spooled.take() : null;
    return { body, length: spooled?.bytes };
  } finally {
    metrics.approvalsPending.dec();
    ctx.res.off('close', onClose);
    ctx.req.socket.setTimeout(ctx.idleTimeoutMs);
  }
}

/** The adapter's details of the action (a push's commits), masked; none when it has none or they cannot be read. */
async function heldDetails(ctx: HoldContext): Promise<HeldDetails | undefined> {
  const describe = ctx.facts.classification.details;
  if (!describe) return undefined;
  try {
    // Commit subjects, author names and paths are pushed content: masked like every other text an approver sees.
    return ctx.approvals.masker.maskJson(await describe.call(ctx.facts.classification)).value as HeldDetails;
  } catch (err) {
    ctx.log().warn({ err: (err as Error).message }, 'details of a held action could not be read');
    return undefined;
  }
}

function newRecord(ctx: HoldContext, spooled: SpooledBody | null, details: HeldDetails | undefined): ApprovalRecord {
  const { approvals, facts } = ctx;
  const p = facts.principal;
  const c = facts.classification;
  const now = Date.now();
  const binding = buildBinding(
    {
      kind: c.kind,
      connection: facts.connection.name,
      attributes: c.attributes,
      request: { method: ctx.request.method, path: ctx.request.path, rawQuery: ctx.request.rawQuery, headers: ctx.req.headers },
      body: spooled ? { sha256: spooled.sha256, bytes: spooled.bytes } : null,
      ...(c.parts && { parts: c.parts.actions }),
    },
    approvals.masker,
  );
  return {
    id: facts.actionId,
    status: 'pending',
    requestedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + approvals.config.timeoutMs).toISOString(),
    rule: facts.decision.rule,
    reason: facts.decision.reason,
    policyVersion: approvals.policyVersion,
    connection: facts.connection.name,
    principal: {
      issuer: p.issuer,
      subject: p.subject,
      groups: [...p.groups],
      sessionId: p.sessionId,
      ci: { ...p.ci },
      identity: identityOf(p, approvals.config.identityClaims),
    },
    binding,
    preview: !spooled
      ? null
      : spooled.where === 'adapter'
        ? { encoding: 'binary', text: '', truncated: false, masked: 0 }
        : bodyPreview(spooled.head, spooled.bytes, approvals.masker),
    ...(details && { details }),
    heldBy: approvals.observerName,
  };
}

/**
 * At most `maxPendingPerPrincipal` pending approvals per principal (issuer +
 * subject: one repository/ref on GitHub, so a runaway agent cannot dodge it
 * by starting new runs). With `own`, counts the records before it in the
 * shared order, so of two racing holds only the later is refused.
 */
async function checkCap(approvals: Approvals, facts: ActionFacts, own: string | undefined): Promise<void> {
  const cap = approvals.config.maxPendingPerPrincipal;
  let pending: ApprovalRecord[];
  try {
    pending = await approvals.store.pendingOf(facts.principal);
  } catch (err) {
    throw new ProxyError('ERR_APPROVALS_UNAVAILABLE', undefined, { cause: err });
  }
  const ahead = own === undefined ? pending.length : pending.findIndex((r) => r.id === own);
  if (ahead >= cap) {
    throw new ProxyError(
      'ERR_APPROVALS_LIMIT',
      `this principal already has ${cap} actions waiting for approval (approvals.maxPendingPerPrincipal); decide or wait for those first`,
    );
  }
}

async function finish(ctx: HoldContext, final: Revisioned, clientGone: boolean): Promise<void> {
  const { approvals, facts } = ctx;
  const rec = final.record;
  const by = rec.decidedBy;
  if (rec.status === 'approved' || rec.status === 'rejected' || rec.status === 'expired') {
    // The deciding proxy recorded this already; the same event (same id) again is a no-op for the stream, and
    // covers a decider that died between its compare-and-set and its record.
    const decided = decisionEvent(rec);
    if (rec.status === 'approved' && !clientGone) await approvals.recorder.record(decided);
    else approvals.recorder.recordLater(decided);
  }
  if (rec.status === 'approved' && !clientGone) {
    // Single use: of every request that could claim this approval, exactly one wins the compare-and-set.
    const used = await approvals.store.consume(final, approvals.observerName);
    if (!used.won) throw new ProxyError('ERR_APPROVAL_CONSUMED');
    ctx.log().info({ approvalId: rec.id, approver: by?.subject }, 'held action approved');
    return;
  }
  if (rec.status === 'rejected') {
    const why = rec.decisionReason ? `: ${rec.decisionReason}` : '';
    throw new ProxyError('ERR_APPROVAL_REJECTED', `rejected by ${by?.subject ?? 'an approver'}${why}`);
  }
  if (rec.status === 'expired') throw new ProxyError('ERR_APPROVAL_EXPIRED');
  // Cancelled (client gone), or approved after the client left: nothing is forwarded.
  const reason = 'the client disconnected while the action was held';
  approvals.recorder.recordLater(actionEvent(facts, 'failed', { categories: ['iam'], outcome: 'failure', reason, approval: approvalFields(rec) }));
  throw new ProxyError('ERR_BAD_REQUEST', reason);
}
