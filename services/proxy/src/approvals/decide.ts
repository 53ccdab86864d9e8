import { ProxyError } from '../errors.js';
import { decisionEvent } from './events.js';
import type { Approvals } from './hold.js';
import type { Approver, Revisioned } from './record.js';

/**
 * Decides a pending approval for an approver already authorised by group and
 * cleared by four eyes: refuses a decided or expired record
 * (ERR_APPROVAL_DECIDED), moves it by compare-and-set (exactly one decision
 * wins), and records the decision before answering, so the trail shows who
 * decided even if the holding proxy dies now. Shared by the REST API and the
 * console.
 */
export async function decideApproval(
  approvals: Approvals,
  rec: Revisioned,
  verb: 'approve' | 'reject',
  approver: Approver,
  reason: string | undefined,
): Promise<Revisioned> {
  const id = rec.record.id;
  if (rec.record.status !== 'pending') throw new ProxyError('ERR_APPROVAL_DECIDED', `approval ${id} is already ${rec.record.status}`);
  if (Date.parse(rec.record.expiresAt) <= Date.now()) throw new ProxyError('ERR_APPROVAL_DECIDED', `approval ${id} has expired`);
  const status = verb === 'approve' ? 'approved' : 'rejected';
  const cas = await approvals.store.decide(rec, status, approvals.observerName, approver, reason);
  // Exactly one decision wins the compare-and-set; a loser is told what won.
  if (!cas.won) throw new ProxyError('ERR_APPROVAL_DECIDED', `approval ${id} is already ${cas.rec.record.status}`);
  try {
    // The holder records the same event (same id) before acting on it.
    await approvals.recorder.record(decisionEvent(cas.rec.record));
  } catch (err) {
    throw new ProxyError(
      'ERR_AUDIT_UNAVAILABLE',
      `the ${status} decision is stored but not yet recorded in the audit trail; the holding gateway records it before it acts`,
      { cause: err },
    );
  }
  return cas.rec;
}
