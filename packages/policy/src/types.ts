import type { Principal } from '@agentgate/events';

/**
 * What the agent asks to do, as an adapter classified it.
 * Kinds used by the adapters: `http.<lower-case method>`; `git.fetch`,
 * `git.push`, `git.force_push`, `git.create_ref`, `git.delete_ref`,
 * `git.tag_create`, `git.tag_move`, `git.tag_delete`; `llm.exchange`;
 * `kubernetes.<verb>`; `registry.<op>`.
 */
export interface PolicyAction {
  kind: string;
  /** Name of the configured connection the action goes to. */
  connection: string;
  /** Protocol details a condition may test (method, path, ref, …); visible to CEL as `action.attributes` and `attrs`. */
  attributes: Record<string, unknown>;
}

/** The outcome of a policy decision. */
export interface PolicyDecision {
  effect: 'allow' | 'deny' | 'review';
  /** Name of the rule that decided; null when the policy default applied. */
  rule: string | null;
  /** Shown to the client on deny/review; on review without a configured reason, "approval required". */
  reason: string;
  /**
   * Set when the deciding rule's condition failed to evaluate (it then matched
   * because it is a deny/review rule: fail closed). For the log, not the client.
   */
  evaluationError?: string;
}

/** A compiled policy: rules in order, first match wins, else the default. */
export interface Policy {
  /** Decides one action; never throws (an internal failure is a deny). */
  decide(principal: Principal, action: PolicyAction): PolicyDecision;
  /**
   * The deny that applies to `action` whatever the attributes it leaves out
   * hold (a condition that cannot be evaluated without them counts as
   * unknown: it could go either way); undefined when some value of them
   * could lead to allow or review. Used to hide what a caller can never do
   * (an MCP tool in `tools/list`), never to allow anything.
   */
  certainDenial(principal: Principal, action: PolicyAction): PolicyDecision | undefined;
  readonly rules: ReadonlyArray<{ name: string }>;
  readonly default: PolicyDecision['effect'];
}

export interface CompilePolicyOptions {
  /** Known connection names; a rule naming another connection is refused at compile time. */
  connections?: readonly string[];
}
