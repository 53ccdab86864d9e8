import type { ApprovalStatus, Principal } from '@agentgate/events';
import type { HeldDetails } from '../adapters/types.js';

/** The KV bucket holding approval records (shared by every proxy instance on the bus). */
export const APPROVALS_BUCKET = 'agentgate_approvals';

export type { ApprovalStatus };

/** Who decided, as identity verified them, and through which gateway instance. */
export interface Approver {
  subject: string;
  issuer: string;
  groups: string[];
  sessionId: string;
}

/** The requester as the record keeps it (no raw claims: only the ones four eyes compares). */
export interface Requester {
  issuer: string;
  subject: string;
  groups: string[];
  sessionId: string;
  ci: Principal['ci'];
  /** Values of `approvals.identityClaims` for the requester's profile: the human behind the run. */
  identity: Record<string, string>;
}

/** Digest and size of the exact body bytes that are forwarded once approved. */
export interface BodyBinding {
  /** SHA-256, lower-case hex. */
  sha256: string;
  bytes: number;
}

/**
 * What exactly an approval releases, protocol-neutral: the action, its
 * attributes (masked as the approver sees them), for HTTP-shaped actions the
 * request line and a safe allowlist of headers, the body's digest and size,
 * and, for actions decided per part, the parts (a git push: one per ref
 * update with its old and new SHA; the pack is the body). `digest` is the
 * SHA-256 of the RFC 8785 canonical JSON of every other field, so anyone can
 * recompute it from the record.
 */
export interface ApprovalBinding {
  kind: string;
  connection: string;
  attributes: Record<string, unknown>;
  request?: {
    method: string;
    /** Path after the connection name, as policy saw it. */
    path: string;
    /** `?…` as sent (masked), or ''. */
    query: string;
    /** Allowlisted headers only (never credentials or cookies), values masked. */
    headers: Record<string, string>;
  };
  body: BodyBinding | null;
  parts?: Array<{ kind: string; attributes: Record<string, unknown> }>;
  digest: string;
}

/** The body as the approver sees it: masked by detectors and sensitive keys, then truncated. */
export interface BodyPreview {
  /** `text`: UTF-8 shown as text; `binary`: not shown. */
  encoding: 'text' | 'binary';
  text: string;
  /** True when `text` is only the start of the body. */
  truncated: boolean;
  /** Masked occurrences in the part that was scanned. */
  masked: number;
}

/** One held action, stored under its action id. Every change after creation is a compare-and-set. */
export interface ApprovalRecord {
  id: string;
  status: ApprovalStatus;
  requestedAt: string;
  expiresAt: string;
  rule: string | null;
  reason: string | undefined;
  /** SHA-256 of the canonical policy section of the gateway that held the action. */
  policyVersion: string;
  connection: string;
  principal: Requester;
  binding: ApprovalBinding;
  preview: BodyPreview | null;
  /** What the action changes, as the adapter describes it (a push: commits added and lost, diffstat), masked. Not part of the binding: derived from what it binds. */
  details?: HeldDetails;
  /** The gateway instance that holds the request (its `observer.name`). */
  heldBy: string;
  decidedAt?: string;
  decidedBy?: Approver;
  /** The gateway instance that wrote the decision (approver's proxy, or the holder for expiry and cancellation). */
  decidedVia?: string;
  decisionReason?: string;
  /** Set (by compare-and-set) when an approved record released its request: an approval releases one request only. */
  consumedAt?: string;
  consumedBy?: string;
}

/** A record with the KV revision it was read at (the CAS handle). */
export interface Revisioned {
  record: ApprovalRecord;
  revision: number;
}

export function encodeRecord(r: ApprovalRecord): string {
  return JSON.stringify(r);
}

/** The key of the principal whose pending approvals are capped: one CI identity (issuer + subject). */
export function principalKey(p: { issuer: string; subject: string }): string {
  return `${p.issuer}\u0000${p.subject}`;
}
