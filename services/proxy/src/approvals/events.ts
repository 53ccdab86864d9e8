import { type ApprovalFields, type AuditEvent, buildActionEvent, derivedEventId, type Principal } from '@agentgate/events';
import type { ApprovalRecord } from './record.js';

/** `agentgate.approval` of an event, from the record as it stands. */
export function approvalFields(rec: ApprovalRecord): ApprovalFields {
  const by = rec.decidedBy;
  return {
    id: rec.id,
    status: rec.status,
    requested_at: rec.requestedAt,
    expires_at: rec.expiresAt,
    ...(rec.decidedAt !== undefined && { decided_at: rec.decidedAt }),
    ...(rec.decisionReason !== undefined && { reason: rec.decisionReason }),
    ...(by && { approver: { subject: by.subject, issuer: by.issuer, groups: [...by.groups], session_id: by.sessionId } }),
    ...(rec.binding.body && { body_sha256: rec.binding.body.sha256, body_bytes: rec.binding.body.bytes }),
    binding_sha256: rec.binding.digest,
    policy_version: rec.policyVersion,
    ...(rec.decidedVia !== undefined && { decided_via: rec.decidedVia }),
  };
}

/** The requester as events need a principal (claims are never recorded). */
function requesterPrincipal(rec: ApprovalRecord): Principal {
  const p = rec.principal;
  return { issuer: p.issuer, subject: p.subject, groups: [...p.groups], claims: {}, ci: { ...p.ci }, sessionId: p.sessionId, expiresAt: 0 };
}

/**
 * The event of a decision (`approved`, `rejected`, `expired`), built from the
 * decided record alone. Whoever builds it — the proxy that served the
 * approver's call, or the proxy holding the request — gets the same event
 * with the same id (time = decision time, id derived from approval id and
 * status), so recording it twice stores it once (stream de-duplication by
 * message id, create-only index writes).
 */
export function decisionEvent(rec: ApprovalRecord): AuditEvent {
  if (rec.status !== 'approved' && rec.status !== 'rejected' && rec.status !== 'expired') {
    throw new Error(`no decision event for an approval that is ${rec.status}`);
  }
  const at = Date.parse(rec.decidedAt ?? rec.expiresAt);
  const req = rec.binding.request;
  return buildActionEvent({
    phase: rec.status,
    principal: requesterPrincipal(rec),
    action: { id: rec.id, kind: rec.binding.kind, connection: rec.connection, attributes: rec.binding.attributes },
    decision: { effect: 'review', ...(rec.rule !== null && { rule: rec.rule }), ...(rec.reason !== undefined && { reason: rec.reason }) },
    ...(rec.status === 'expired' ? { reason: 'approval timed out' } : rec.decisionReason !== undefined && { reason: rec.decisionReason }),
    ...(req && { url: { path: `/${rec.connection}${req.path}` }, http: { request: { method: req.method } } }),
    approval: approvalFields(rec),
    categories: ['iam'],
    ...(rec.decidedVia !== undefined && { observerName: rec.decidedVia }),
    now: new Date(at),
    id: derivedEventId(at, ['approval', rec.id, rec.status]),
  });
}
