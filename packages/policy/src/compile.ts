import type { DeepReadonly, PolicyConfig } from '@agentgate/config';
import type { Principal } from '@agentgate/events';
import { PolicyError } from './errors.js';
import { bindingsFor, sampleBindings } from './lib/bindings.js';
import { type Condition, compileCondition } from './lib/condition.js';
import { type KindMatcher, compileGlob } from './glob.js';
import type { CompilePolicyOptions, Policy, PolicyAction, PolicyDecision } from './types.js';

type Effect = PolicyDecision['effect'];

interface CompiledRule {
  name: string;
  effect: Effect;
  reason: string | undefined;
  connections: ReadonlySet<string> | undefined;
  kinds: KindMatcher[] | undefined;
  when: Condition | undefined;
}

/** Reason of a review decision whose rule gives none (the held client and the approver see it). */
export const APPROVAL_REQUIRED = 'approval required';

/**
 * Compiles the `policy` section once, at start-up. Rules are tried in order;
 * the first whose connections, action globs and CEL `when` all match decides;
 * when none does, `policy.default` (deny unless configured) applies.
 *
 * Evaluation errors fail closed: a condition that errors or is not a bool
 * makes an allow rule NOT match, and makes a deny/review rule match, so a
 * broken condition can never open the gate.
 *
 * @throws PolicyError `ERR_POLICY_RULE`, message naming the rule:
 *   `policy.rules[2] "no-force-push": when: <error>`.
 */
export function compilePolicy(policy: DeepReadonly<PolicyConfig>, opts: CompilePolicyOptions = {}): Policy {
  const known = opts.connections ? new Set(opts.connections) : undefined;
  const sample = sampleBindings();
  const rules: CompiledRule[] = policy.rules.map((rule, i) => {
    const fail = (what: string): never => {
      throw new PolicyError('ERR_POLICY_RULE', `policy.rules[${i}] "${rule.name}": ${what}`);
    };
    if (known) {
      for (const c of rule.connections ?? []) if (!known.has(c)) fail(`connections: names no configured connection ("${c}")`);
    }
    const kinds = rule.actions?.map((glob) => {
      const m = compileGlob(glob);
      return typeof m === 'string' ? fail(`actions: ${m}`) : m;
    });
    let when: Condition | undefined;
    if (rule.when !== undefined) {
      const c = compileCondition(rule.when, sample);
      when = typeof c === 'string' ? fail(`when: ${c}`) : c;
    }
    return {
      name: rule.name,
      effect: rule.decision,
      reason: rule.reason,
      connections: rule.connections ? new Set(rule.connections) : undefined,
      kinds,
      when,
    };
  });
  const fallback = defaultDecision(policy.default);
  const names = Object.freeze(rules.map((r) => Object.freeze({ name: r.name })));

  return Object.freeze({
    rules: names,
    default: policy.default,
    decide(principal: Principal, action: PolicyAction): PolicyDecision {
      try {
        return decide(rules, fallback, principal, action);
      } catch (err) {
        // Anything unexpected (a hostile attribute, a bug) must not become an allow.
        return { effect: 'deny', rule: null, reason: 'policy evaluation failed', evaluationError: (err as Error).message };
      }
    },
    certainDenial(principal: Principal, action: PolicyAction): PolicyDecision | undefined {
      try {
        return certainDenial(rules, fallback, principal, action);
      } catch {
        // Unsure is not denied: the action itself is still decided when it is asked for.
        return undefined;
      }
    },
  });
}

/** A rule that applies to an action, with why its `when` could not be evaluated (undefined when it held or there is none). */
interface Candidate {
  rule: CompiledRule;
  unknown: string | undefined;
}

/**
 * The rules, in order, whose connections and action globs match the action
 * and whose `when` is true or cannot be evaluated; a rule whose `when` is
 * false is passed over. The bindings are built once, at the first `when`.
 */
function* candidates(rules: CompiledRule[], principal: Principal, action: PolicyAction): Generator<Candidate> {
  let bindings: ReturnType<typeof bindingsFor> | undefined;
  for (const rule of rules) {
    if (rule.connections && !rule.connections.has(action.connection)) continue;
    if (rule.kinds && !rule.kinds.some((m) => m(action.kind))) continue;
    if (!rule.when) {
      yield { rule, unknown: undefined };
      continue;
    }
    bindings ??= bindingsFor(principal, action);
    const r = rule.when(bindings);
    if (!r.ok) yield { rule, unknown: r.error };
    else if (r.value) yield { rule, unknown: undefined };
  }
}

/**
 * Walks the rules with a condition that cannot be evaluated (it reads an
 * attribute the action leaves out) counted as unknown: the action is denied
 * for certain only when every way through the rules ends in a deny. An
 * unknown allow or review rule could decide for some value, so the answer is
 * undefined; an unknown deny rule may or may not apply, so the walk goes on.
 */
function certainDenial(rules: CompiledRule[], fallback: PolicyDecision, principal: Principal, action: PolicyAction): PolicyDecision | undefined {
  for (const { rule, unknown } of candidates(rules, principal, action)) {
    if (rule.effect !== 'deny') return undefined;
    if (unknown === undefined) return ruleDecision(rule);
    // An unknown deny may or may not apply: the walk goes on.
  }
  return fallback.effect === 'deny' ? { ...fallback } : undefined;
}

function decide(rules: CompiledRule[], fallback: PolicyDecision, principal: Principal, action: PolicyAction): PolicyDecision {
  for (const { rule, unknown } of candidates(rules, principal, action)) {
    if (unknown === undefined) return ruleDecision(rule);
    // Fail closed: an allow that cannot be evaluated is not granted; a deny/review that cannot be evaluated applies.
    if (rule.effect === 'allow') continue;
    return { ...ruleDecision(rule), evaluationError: unknown };
  }
  return { ...fallback };
}

function ruleDecision(rule: CompiledRule): PolicyDecision {
  return { effect: rule.effect, rule: rule.name, reason: rule.reason ?? defaultReason(rule.effect, rule.name) };
}

function defaultReason(effect: Effect, rule: string | null): string {
  if (effect === 'review') return APPROVAL_REQUIRED;
  const by = rule === null ? 'by the policy default' : `by policy rule "${rule}"`;
  return effect === 'allow' ? `allowed ${by}` : `denied ${by}`;
}

function defaultDecision(effect: Effect): PolicyDecision {
  return Object.freeze({ effect, rule: null, reason: defaultReason(effect, null) });
}
