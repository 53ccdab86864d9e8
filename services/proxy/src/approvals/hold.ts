import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '@agentgate/config';
import type { Logger } from '@agentgate/log';
import type { Masker } from '@agentgate/masking';
import { ProxyError } from '../errors.js';
import { type ActionFacts, actionEvent } from '../pipeline/events.js';
import type { AuditRecorder } from '../pipeline/record.js';
import type { ApprovalRecord, Revisioned } from './record.js';
import type { ApprovalStore } from './store.js';

/** What the pipeline needs to hold an action for a human. */
export interface Approvals {
  readonly store: ApprovalStore;
  readonly config: Config['approvals'];
  /** Detector masker for the attributes put in the record (approvers see them). */
  readonly masker: Masker;
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
  recorder: AuditRecorder;
  facts: ActionFacts;
  req: IncomingMessage;
  res: ServerResponse;
  idleTimeoutMs: number;
  log: () => Logger;
}

/**
 * Holds the action until a human decides: stores a pending record, records
 * `held` durably, then waits. Resolves when approved (after recording
 * `approved`); throws the refusal otherwise. Nothing is forwarded meanwhile:
 * the request body stays unread (backpressure).
 */
export async function holdForApproval(ctx: HoldContext): Promise<void> {
  const { approvals, recorder, facts, req, res } = ctx;
  const now = Date.now();
  const record: ApprovalRecord = {
    id: facts.actionId,
    status: 'pending',
    requestedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + approvals.config.timeoutMs).toISOString(),
    rule: facts.decision.rule,
    reason: facts.decision.reason,
    connection: facts.connection.name,
    kind: facts.classification.kind,
    attributes: maskAttributes(approvals.masker, facts.classification.attributes),
    principal: { subject: facts.principal.subject, sessionId: facts.principal.sessionId, ci: facts.principal.ci },
  };
  let created: Revisioned;
  try {
    created = await approvals.store.create(record);
  } catch (err) {
    throw new ProxyError('ERR_APPROVALS_UNAVAILABLE', undefined, { cause: err });
  }
  const labels = { approval_id: record.id, approval_expires_at: record.expiresAt };
  try {
    // No record, no hold: an approver must never release an action the trail does not show as held.
    await recorder.record(actionEvent(facts, 'held', { categories: ['iam'], labels }));
  } catch (err) {
    await approvals.store.decide(created, 'cancelled').catch(() => {});
    throw err;
  }
  ctx.log().info({ approvalId: record.id, rule: record.rule, expiresAt: record.expiresAt }, 'action held for approval');

  const abort = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort();
  };
  res.on('close', onClose);
  // The approval deadline bounds the wait; the idle socket timeout must not cut a held request first.
  req.socket.setTimeout(0);
  try {
    const result = await approvals.store.wait(record.id, Date.parse(record.expiresAt), abort.signal);
    let final = result.kind === 'decided' ? result.rec : undefined;
    if (!final) {
      // Timeout or client gone: the CAS decides; if an approver won the race, their decision stands.
      const base = result.rec ?? created;
      const cas = await approvals.store.decide(base, result.kind === 'timeout' ? 'expired' : 'cancelled');
      final = cas.rec;
    }
    await finish(ctx, final.record, abort.signal.aborted);
  } finally {
    res.off('close', onClose);
    req.socket.setTimeout(ctx.idleTimeoutMs);
  }
}

async function finish(ctx: HoldContext, rec: ApprovalRecord, clientGone: boolean): Promise<void> {
  const by = rec.decidedBy;
  const labels: Record<string, string> = {
    approval_id: rec.id,
    approval_status: rec.status,
    ...(by && { approval_by_subject: by.subject, approval_by_session: by.sessionId }),
    ...(rec.decisionReason !== undefined && { approval_reason: rec.decisionReason }),
  };
  const extra = { categories: ['iam'], labels };
  if (rec.status === 'approved' && !clientGone) {
    // The approval is part of the trail before anything goes upstream.
    await ctx.recorder.record(actionEvent(ctx.facts, 'approved', extra));
    ctx.log().info({ approvalId: rec.id, approver: by?.subject }, 'held action approved');
    return;
  }
  if (rec.status === 'rejected') {
    ctx.recorder.recordLater(actionEvent(ctx.facts, 'rejected', { ...extra, ...(rec.decisionReason !== undefined && { reason: rec.decisionReason }) }));
    const why = rec.decisionReason ? `: ${rec.decisionReason}` : '';
    throw new ProxyError('ERR_APPROVAL_REJECTED', `rejected by ${by?.subject ?? 'an approver'}${why}`);
  }
  if (rec.status === 'expired') {
    ctx.recorder.recordLater(actionEvent(ctx.facts, 'expired', { ...extra, reason: 'approval timed out' }));
    throw new ProxyError('ERR_APPROVAL_EXPIRED');
  }
  // Cancelled (client gone), or approved after the client left: nothing is forwarded.
  ctx.recorder.recordLater(actionEvent(ctx.facts, 'failed', { ...extra, outcome: 'failure', reason: 'the client disconnected while the action was held' }));
  throw new ProxyError('ERR_BAD_REQUEST', 'the client disconnected while the action was held');
}

function maskAttributes(masker: Masker, attrs: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(attrs);
  const masked = masker.maskText(text);
  if (masked.findings.length === 0) return attrs;
  try {
    return JSON.parse(masked.text) as Record<string, unknown>;
  } catch {
    // Masking broke the JSON: keep nothing rather than an unmasked copy.
    return { masked: true };
  }
}
