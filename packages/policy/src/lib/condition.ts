import { type CelInput, celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { QUERY_FUNCS } from './query-funcs.js';

type Expr = ReturnType<typeof parse>['expr'];

/** Variables a condition may use. `attrs` is a shortcut for `action.attributes`. */
export const CONDITION_VARIABLES = ['principal', 'action', 'attrs'] as const;

/** Bindings handed to a compiled condition. */
export type ConditionBindings = Record<(typeof CONDITION_VARIABLES)[number], CelInput>;

/** Result of one evaluation: a bool, or the reason it is not one. */
export type ConditionResult = { ok: true; value: boolean } | { ok: false; error: string };

export type Condition = (bindings: ConditionBindings) => ConditionResult;

// One environment for every rule: the standard library, the string extensions (lowerAscii, split, …) and the
// query helpers (queryHas, queryAny, queryAll, queryValues: repeated parameters arrive as lists).
const env = celEnv({ funcs: [...strings, ...QUERY_FUNCS] });

// Calls the planner handles itself rather than through the function registry.
const PLANNER_CALLS = new Set(['_[_]', '_[?_]', '_?._', '_?_:_', '_&&_', '_||_', '@not_strictly_false', '__not_strictly_false__']);

/**
 * Compiles a CEL condition once. Returns an error text (the caller names the
 * rule) for a parse error, an undeclared variable, an unknown function, a
 * message literal, or a condition that evaluates to something other than a
 * bool against a complete sample principal/action. cel-es resolves names only
 * at evaluation, so without this walk a typo such as `principle.groups` would
 * be found by the first request instead of at start-up.
 */
export function compileCondition(source: string, sample: ConditionBindings): Condition | string {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    return `CEL parse error: ${(err as Error).message}`;
  }
  const problem = checkNames(parsed.expr, new Set(CONDITION_VARIABLES));
  if (problem) return problem;
  let run: (ctx: ConditionBindings) => unknown;
  try {
    run = plan(env, parsed) as (ctx: ConditionBindings) => unknown;
  } catch (err) {
    return `CEL plan error: ${(err as Error).message}`;
  }
  const condition: Condition = (bindings) => {
    let out: unknown;
    try {
      out = run(bindings);
    } catch (err) {
      return { ok: false, error: `evaluation threw: ${(err as Error).message}` };
    }
    if (isCelError(out)) return { ok: false, error: out.message };
    if (typeof out !== 'boolean') return { ok: false, error: `condition returned ${describe(out)}, not a bool` };
    return { ok: true, value: out };
  };
  // A sample evaluation catches type errors that do not depend on request data
  // (e.g. `principal.groups + 1`, `"a" == 1 ? 1 : 2`); errors caused by absent
  // claims or attributes are expected here and are decided per request.
  const probe = condition(sample);
  if (!probe.ok && (/not a bool/.test(probe.error) || /no matching overload/.test(probe.error))) {
    return `CEL type error: ${probe.error}`;
  }
  return condition;
}

function checkNames(expr: Expr | undefined, scope: ReadonlySet<string>): string | undefined {
  if (!expr) return undefined;
  const k = expr.exprKind;
  switch (k.case) {
    case 'constExpr':
      return undefined;
    case 'identExpr':
      return scope.has(k.value.name) ? undefined : `undeclared reference "${k.value.name}" (use principal, action or attrs)`;
    case 'selectExpr':
      return checkNames(k.value.operand, scope);
    case 'listExpr':
      return firstProblem(k.value.elements.map((e) => () => checkNames(e, scope)));
    case 'structExpr':
      if (k.value.messageName !== '') return `message literal "${k.value.messageName}" is not supported`;
      return firstProblem(
        k.value.entries.flatMap((e) => [
          () => (e.keyKind.case === 'mapKey' ? checkNames(e.keyKind.value, scope) : undefined),
          () => checkNames(e.value, scope),
        ]),
      );
    case 'callExpr': {
      const call = k.value;
      const qualified = call.target ? qualifiedName(call.target) : undefined;
      if (qualified && env.funcs.find(`${qualified}.${call.function}`)) {
        return firstProblem(call.args.map((a) => () => checkNames(a, scope)));
      }
      if (!PLANNER_CALLS.has(call.function) && !env.funcs.find(call.function)) return `unknown function "${call.function}"`;
      return firstProblem([() => checkNames(call.target, scope), ...call.args.map((a) => () => checkNames(a, scope))]);
    }
    case 'comprehensionExpr': {
      const c = k.value;
      const inner = new Set(scope);
      inner.add(c.iterVar);
      if (c.iterVar2) inner.add(c.iterVar2);
      inner.add(c.accuVar);
      return firstProblem([
        () => checkNames(c.iterRange, scope),
        () => checkNames(c.accuInit, scope),
        () => checkNames(c.loopCondition, inner),
        () => checkNames(c.loopStep, inner),
        () => checkNames(c.result, inner),
      ]);
    }
    default:
      return 'unsupported expression';
  }
}

function qualifiedName(expr: Expr): string | undefined {
  const k = expr.exprKind;
  if (k.case === 'identExpr') return k.value.name;
  if (k.case === 'selectExpr' && k.value.operand) {
    const head = qualifiedName(k.value.operand);
    return head === undefined ? undefined : `${head}.${k.value.field}`;
  }
  return undefined;
}

function firstProblem(checks: Array<() => string | undefined>): string | undefined {
  for (const check of checks) {
    const p = check();
    if (p) return p;
  }
  return undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return 'an int';
  if (typeof v === 'number') return 'a double';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v === 'object' ? (v.constructor?.name ?? 'value') : typeof v}`;
}
