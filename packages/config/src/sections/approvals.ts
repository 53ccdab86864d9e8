import { z } from 'zod';
import { formatError, nonEmpty, posInt } from '../lib/common.js';

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

const hookUrl = z.url({ protocol: /^https?$/, error: formatError('expected an http(s) URL') });

/**
 * One webhook told about every new hold: an approver group's channel. The
 * body is `format`: generic JSON, or a Slack / Mattermost incoming-webhook
 * message. Signed with HMAC-SHA256 over `<timestamp>.<body>` when
 * `secretRef` names a key (header `X-Agentgate-Signature: t=<unix>,v1=<hex>`).
 */
const webhookSchema = z
  .strictObject({
    /** The approver group this hook reaches (documentation and the payload's `group`). */
    group: nonEmpty,
    /** Where to POST; use `urlRef` instead when the URL itself is a credential (Slack, Mattermost). */
    url: hookUrl.optional(),
    /** A configured secret holding the URL. */
    urlRef: nonEmpty.optional(),
    format: z.enum(['json', 'slack', 'mattermost']).default('json'),
    /** A configured secret: the HMAC key the receiver verifies the signature with. */
    secretRef: nonEmpty.optional(),
  })
  .refine((w) => (w.url === undefined) !== (w.urlRef === undefined), 'expected exactly one of url or urlRef');

/** `approvals.notify`: webhooks per approver group. Delivery never blocks or fails a hold. */
const notifySchema = z
  .strictObject({
    webhooks: z.array(webhookSchema).default([]),
    /** One delivery attempt's timeout. */
    timeoutMs: z.number().int().min(100).max(60_000).default(5000),
    /** Attempts per webhook (the first included) before the failure is recorded. */
    attempts: z.number().int().min(1).max(20).default(5),
    /** Delay before the second attempt; doubles each time (with jitter), at most 60 s. */
    backoffMs: z.number().int().min(10).max(60_000).default(1000),
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
    spoolMemoryBytes: z
      .number()
      .int()
      .min(0)
      .max(16 * 1024 * 1024)
      .default(64 * 1024),
    /** Pending approvals one principal (issuer + subject) may have at once; more are refused with ERR_APPROVALS_LIMIT. */
    maxPendingPerPrincipal: posInt.max(10_000).default(20),
    /** Identity claims compared by four eyes, per issuer profile. */
    identityClaims: identityClaimsSchema,
    /** Who is told about a new hold. */
    notify: notifySchema,
  })
  .prefault({});

export type ApprovalsConfig = z.output<typeof approvalsSchema>;
