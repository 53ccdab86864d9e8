import type { PolicyAction, PolicyDecision } from './types.js';

/**
 * Renders a decision for `agentgate policy test`, e.g.
 * ```
 * decision: deny
 * rule:     no-force-push
 * reason:   force pushes to protected branches are refused
 * action:   git.force_push on github
 * ```
 */
export function formatDecision(decision: PolicyDecision, action?: PolicyAction): string {
  const lines = [`decision: ${decision.effect}`, `rule:     ${decision.rule ?? '(none matched: policy default)'}`, `reason:   ${decision.reason}`];
  if (decision.evaluationError !== undefined) lines.push(`error:    ${decision.evaluationError} (rule applied: fail closed)`);
  if (action) lines.push(`action:   ${action.kind} on ${action.connection}`);
  return lines.join('\n');
}
