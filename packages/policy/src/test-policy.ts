import type { Config, DeepReadonly, PolicyConfig } from '@agentgate/config';
import { CI_PROVIDERS, type Principal } from '@agentgate/events';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { compilePolicy } from './compile.js';
import { PolicyError } from './errors.js';
import type { Policy, PolicyAction, PolicyDecision } from './types.js';

const describedActionSchema = z.strictObject({
  principal: z
    .strictObject({
      issuer: z.string().min(1).optional(),
      subject: z.string().min(1).optional(),
      groups: z.array(z.string()).optional(),
      claims: z.record(z.string(), z.unknown()).optional(),
      ci: z
        .strictObject({
          provider: z.enum(CI_PROVIDERS).optional(),
          repository: z.string().optional(),
          ref: z.string().optional(),
          workflow: z.string().optional(),
          run: z.string().optional(),
          attempt: z.string().optional(),
          actor: z.string().optional(),
          environment: z.string().optional(),
        })
        .optional(),
      sessionId: z.string().min(1).optional(),
      expiresAt: z.number().int().nonnegative().optional(),
    })
    .default({}),
  action: z.strictObject({
    kind: z.string().min(1),
    connection: z.string().min(1),
    attributes: z.record(z.string(), z.unknown()).default({}),
  }),
});

/**
 * A "described action" for `agentgate policy test` (JSON or YAML):
 * ```yaml
 * principal:            # every field optional
 *   groups: [deployers]
 *   claims: { repository_owner: acme }
 *   ci: { provider: github-actions, repository: acme/app, ref: refs/heads/main }
 * action:
 *   kind: git.push
 *   connection: github
 *   attributes: { ref: refs/heads/main }
 * ```
 */
export type DescribedAction = z.input<typeof describedActionSchema>;

export interface PolicyTestResult {
  decision: PolicyDecision;
  principal: Principal;
  action: PolicyAction;
}

/** Parses a described action from JSON or YAML text. @throws PolicyError `ERR_POLICY_INPUT`. */
export function parseDescribedAction(text: string): DescribedAction {
  try {
    return parseYaml(text) as DescribedAction;
  } catch (err) {
    throw new PolicyError('ERR_POLICY_INPUT', `described action: not valid JSON or YAML: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Evaluates a described action against a configuration (or an already
 * compiled policy) the way the proxy would; missing principal fields get
 * neutral test values (no groups, no claims, provider `generic`).
 * @throws PolicyError `ERR_POLICY_INPUT` for a malformed description,
 *   `ERR_POLICY_RULE` when the configuration's policy does not compile.
 */
export function testPolicy(config: DeepReadonly<Pick<Config, 'policy'> & Partial<Pick<Config, 'connections'>>> | Policy, input: unknown): PolicyTestResult {
  const parsed = describedActionSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first ? first.path.join('.') || '(root)' : '(root)';
    throw new PolicyError('ERR_POLICY_INPUT', `described action: ${where}: ${first?.message ?? 'invalid'}`, { cause: parsed.error });
  }
  const p = parsed.data.principal;
  const principal: Principal = {
    issuer: p.issuer ?? 'policy-test',
    subject: p.subject ?? 'policy-test',
    groups: p.groups ?? [],
    claims: p.claims ?? {},
    ci: { ...p.ci, provider: p.ci?.provider ?? 'generic' },
    sessionId: p.sessionId ?? 'policy-test',
    expiresAt: p.expiresAt ?? 0,
  };
  const action: PolicyAction = parsed.data.action;
  const policy = isPolicy(config)
    ? config
    : compilePolicy(config.policy as DeepReadonly<PolicyConfig>, config.connections ? { connections: config.connections.map((c) => c.name) } : {});
  return { decision: policy.decide(principal, action), principal, action };
}

function isPolicy(v: object): v is Policy {
  return typeof (v as Policy).decide === 'function';
}
