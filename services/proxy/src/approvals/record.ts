import type { Principal } from '@agentgate/events';

/** The KV bucket holding approval records (shared by every proxy instance on the bus). */
export const APPROVALS_BUCKET = 'agentgate_approvals';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled';

/** Who decided, as identity verified them. */
export interface Approver {
  subject: string;
  sessionId: string;
}

/** One held action, stored under its action id. Every change after creation is a compare-and-set. */
export interface ApprovalRecord {
  id: string;
  status: ApprovalStatus;
  requestedAt: string;
  expiresAt: string;
  rule: string | null;
  reason: string | undefined;
  connection: string;
  kind: string;
  /** What policy saw, masked by detectors before it is stored. */
  attributes: Record<string, unknown>;
  principal: { subject: string; sessionId: string; ci: Principal['ci'] };
  decidedAt?: string;
  decidedBy?: Approver;
  decisionReason?: string;
}

/** A record with the KV revision it was read at (the CAS handle). */
export interface Revisioned {
  record: ApprovalRecord;
  revision: number;
}

export function encodeRecord(r: ApprovalRecord): string {
  return JSON.stringify(r);
}
