import { z } from 'zod';
import { checkUnique, nonEmpty } from '../lib/common.js';

export const POLICY_DECISIONS = ['allow', 'deny', 'review'] as const;

const ruleSchema = z.strictObject({
  name: nonEmpty,
  /** Connection names the rule applies to (all when absent). */
  connections: z.array(nonEmpty).min(1).optional(),
  /** Action kind globs, e.g. `git.*`, `kubernetes.delete`. */
  actions: z.array(nonEmpty).min(1).optional(),
  /** CEL condition source; compiled by the policy package at start-up, not here. */
  when: nonEmpty.optional(),
  decision: z.enum(POLICY_DECISIONS),
  reason: z.string().optional(),
});

/** `policy`: ordered rules; when none matches, `default` applies (deny: fail closed). */
export const policySchema = z
  .strictObject({
    rules: z.array(ruleSchema).default([]),
    default: z.enum(POLICY_DECISIONS).default('deny'),
  })
  .prefault({})
  .superRefine((p, ctx) => {
    checkUnique(
      ctx,
      p.rules.map((r) => r.name),
      (i) => ['rules', i, 'name'],
      'rule name',
    );
  });

export type PolicyConfig = z.output<typeof policySchema>;
export type PolicyRuleConfig = PolicyConfig['rules'][number];
