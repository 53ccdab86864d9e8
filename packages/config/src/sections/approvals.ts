import { z } from 'zod';
import { nonEmpty, posInt } from '../lib/common.js';

const claimList = z.array(nonEmpty).min(1);

/**
 * Claims that name the human behind a CI run, per issuer profile. Four eyes
 * compares them between requester and approver: a match on any one (same
 * claim name, same value) is the same human. `sub` is the token's subject.
 */
const identityClaimsSchema = z
  .strictObject({
    /** GitHub Actions: `actor` is the user who triggered the run; `sub` the repository/ref subject. */
    'github-actions': claimList.default(['actor', 'sub']),
    /** GitLab CI: `user_login` / `user_id` name the user who started the pipeline. */
    'gitlab-ci': claimList.default(['user_login', 'user_id', 'sub']),
    generic: claimList.default(['sub']),
  })
  .prefault({});

/**
 * `approvals`: holding `review` decisions for a human. With no approver
 * groups nobody can approve, so a review stays an immediate refusal (fail closed).
 */
export const approvalsSchema = z
  .strictObject({
    /** How long a held request waits for a decision before it is refused as expired. */
    timeoutMs: z.number().int().min(1000).max(3_600_000).default(300_000),
    /** Principal groups allowed to approve or reject; [] = nobody (reviews are refused at once). */
    approverGroups: z.array(nonEmpty).default([]),
    /** Whether the requester may decide on their own action (same human, subject or session). Off: four eyes. */
    allowSelfApproval: z.boolean().default(false),
    /**
     * Largest request body a held action may carry. The body is read whole before the
     * hold (the approver sees it and its SHA-256; exactly those bytes are forwarded), so
     * a larger one is refused with ERR_APPROVAL_BODY_TOO_LARGE.
     */
    maxBodyBytes: posInt.max(1024 * 1024 * 1024).default(1024 * 1024),
    /** Bodies up to this size are held in memory; larger ones in an unlinked 0600 file under `bus.dataDir`. */
    spoolMemoryBytes: z.number().int().min(0).max(16 * 1024 * 1024).default(64 * 1024),
    /** Pending approvals one principal (issuer + subject) may have at once; more are refused with ERR_APPROVALS_LIMIT. */
    maxPendingPerPrincipal: posInt.max(10_000).default(20),
    /** Identity claims compared by four eyes, per issuer profile. */
    identityClaims: identityClaimsSchema,
  })
  .prefault({});

export type ApprovalsConfig = z.output<typeof approvalsSchema>;
