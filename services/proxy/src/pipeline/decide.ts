import type { Principal } from '@agentgate/events';
import { ProxyError } from '../errors.js';
import type { PolicyPort } from '../lib/ports.js';
import { stageSync } from '@agentgate/telemetry';

export type Decided = ReturnType<PolicyPort['decide']>;

/** Asks policy; a policy that throws is a deny (fail closed). */
export function decide(policy: PolicyPort, principal: Principal, action: { kind: string; connection: string; attributes: Record<string, unknown> }): Decided {
  return stageSync('decide', () => {
    try {
      return policy.decide(principal, action);
    } catch {
      return { effect: 'deny', rule: null, reason: 'policy evaluation failed' };
    }
  });
}

/** The refusal a non-allow decision becomes; the reason is the policy author's text, meant for the client. */
export function refusalOf(decision: Decided): ProxyError {
  if (decision.effect === 'review') {
    // Reached only when a review cannot be held (no approverGroups, a raw-socket upgrade, the registry root):
    // otherwise run.ts holds it for an approver (approvals/hold.ts). The client is told why it needs one.
    const reason = decision.reason && decision.reason !== 'approval required' ? `approval required: ${decision.reason}` : 'approval required';
    return new ProxyError('ERR_APPROVAL_REQUIRED', reason);
  }
  return new ProxyError('ERR_POLICY_DENIED', `denied by policy${decision.rule ? ` (rule ${decision.rule})` : ''}: ${decision.reason}`);
}
