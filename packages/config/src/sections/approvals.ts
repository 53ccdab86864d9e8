import { z } from 'zod';
import { nonEmpty } from '../lib/common.js';

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
    /** Whether the requester may decide on their own action (same subject or session). Off: four eyes. */
    allowSelfApproval: z.boolean().default(false),
  })
  .prefault({});

export type ApprovalsConfig = z.output<typeof approvalsSchema>;
