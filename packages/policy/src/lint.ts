import type { Config, DeepReadonly, PolicyConfig } from '@agentgate/config';
import { compilePolicy } from './compile.js';
import { PolicyError } from './errors.js';
import { conditionRefs } from './lib/condition-refs.js';
import { compileGlob } from './glob.js';

/** One action kind an adapter classifies requests into, with the attributes policy sees as `attrs.*`. */
export interface CatalogueKind {
  /** The kind, e.g. `git.tag_move`; a `<name>` segment (`http.<method>`) stands for the kinds in `values`. */
  readonly kind: string;
  /** The concrete kinds of a `<name>` pattern (e.g. every `http.<method>`); absent for a plain kind. */
  readonly values?: readonly string[];
  /** When the adapter produces it (one line, for the reference table). */
  readonly summary: string;
  /** Attribute name → what it holds. */
  readonly attrs: Readonly<Record<string, string>>;
}

/** The kinds one adapter (one connection `type`) produces. */
export interface CatalogueAdapter {
  /** The connection `type` the adapter serves. */
  readonly type: string;
  readonly kinds: readonly CatalogueKind[];
  /**
   * Connection options that take effect only through a policy rule reading an attribute
   * (`protectedRefs` → `attrs.protected`): setting one without such a rule blocks nothing.
   */
  readonly optionAttrs?: Readonly<Record<string, string>>;
}

/** Every adapter's kinds: the one source of truth `config check`, start-up and the README table read. */
export type ActionCatalogue = readonly CatalogueAdapter[];

/** A finding of lintPolicy: `path` names the configuration key (`policy.rules[3].actions[0]`). */
export interface PolicyLintIssue {
  readonly path: string;
  readonly message: string;
}

/** The configuration parts lintPolicy reads. */
export type LintablePolicyConfig = DeepReadonly<Pick<Config, 'policy' | 'connections'>>;

interface Known {
  type: string;
  kind: string;
  attrs: ReadonlySet<string>;
}

/** Every concrete kind of the catalogue with its adapter type and attribute names. */
export function catalogueKinds(catalogue: ActionCatalogue): Array<{ type: string; kind: string; attrs: ReadonlySet<string> }> {
  return catalogue.flatMap((a) => a.kinds.flatMap((k) => (k.values ?? [k.kind]).map((kind) => ({ type: a.type, kind, attrs: new Set(Object.keys(k.attrs)) }))));
}

/**
 * Checks a policy against the adapters' catalogue, for what compiles but can never do what its
 * author meant: an `actions` glob that names no kind of any adapter (`git.tag_mvoe`), or none of
 * the adapters of the rule's connections; an `action.kind` literal in `when` that is no kind; an
 * `attrs.x` that no kind the rule matches carries; and a connection option such as git's
 * `protectedRefs` that no rule reads (it blocks nothing by itself). Globs and conditions that do
 * not compile are left to compilePolicy. `config check` reports these as errors, start-up as warnings.
 */
export function lintPolicy(config: LintablePolicyConfig, catalogue: ActionCatalogue): PolicyLintIssue[] {
  const issues: PolicyLintIssue[] = [];
  const all: Known[] = catalogueKinds(catalogue);
  const typeOf = new Map(config.connections.map((c) => [c.name, c.type as string]));
  const ruleReads: Array<{ connections: ReadonlySet<string> | undefined; attrs: ReadonlySet<string> }> = [];

  config.policy.rules.forEach((rule, i) => {
    const at = `policy.rules[${i}]`;
    const scopeTypes = rule.connections ? new Set(rule.connections.map((c) => typeOf.get(c)).filter((t): t is string => t !== undefined)) : undefined;
    const inScope = scopeTypes ? all.filter((k) => scopeTypes.has(k.type)) : all;
    let matched: Known[] = inScope;
    if (rule.actions) {
      const hits = new Set<Known>();
      rule.actions.forEach((glob, j) => {
        const m = compileGlob(glob);
        if (typeof m === 'string') return;
        const any = all.filter((k) => m(k.kind));
        if (any.length === 0) {
          issues.push({
            path: `${at}.actions[${j}]`,
            message: `"${glob}" names no action kind of any adapter${suggest(glob, all)}: rule "${rule.name}" never matches through it`,
          });
          return;
        }
        const here = inScope.filter((k) => m(k.kind));
        if (here.length === 0) {
          issues.push({
            path: `${at}.actions[${j}]`,
            message: `"${glob}" matches no action kind of the adapters of this rule's connections (${describeScope(rule.connections ?? [], typeOf)}): rule "${rule.name}" never matches through it`,
          });
        }
        for (const k of here) hits.add(k);
      });
      matched = [...hits];
    }
    const refs = rule.when !== undefined ? conditionRefs(rule.when) : undefined;
    if (!refs) {
      ruleReads.push({ connections: rule.connections ? new Set(rule.connections) : undefined, attrs: new Set() });
      return;
    }
    for (const lit of refs.kinds) {
      if (!all.some((k) => k.kind === lit))
        issues.push({ path: `${at}.when`, message: `action.kind is compared with "${lit}", which is no action kind of any adapter${suggest(lit, all)}` });
    }
    if (matched.length > 0) {
      const offered = new Set(matched.flatMap((k) => [...k.attrs]));
      for (const a of refs.attrs) {
        if (!offered.has(a)) {
          issues.push({
            path: `${at}.when`,
            message: `attrs.${a} is not an attribute of any action kind this rule matches (they carry: ${[...offered].sort().join(', ') || 'none'})${suggestName(a, [...offered])}`,
          });
        }
      }
    }
    ruleReads.push({ connections: rule.connections ? new Set(rule.connections) : undefined, attrs: refs.attrs });
  });

  config.connections.forEach((c, i) => {
    const adapter = catalogue.find((a) => a.type === c.type);
    const options = (c as { options?: Record<string, unknown> }).options ?? {};
    for (const [option, attr] of Object.entries(adapter?.optionAttrs ?? {})) {
      const v = options[option];
      const set = Array.isArray(v) ? v.length > 0 : v !== undefined && v !== false && v !== null;
      if (!set) continue;
      const read = ruleReads.some((r) => (!r.connections || r.connections.has(c.name)) && r.attrs.has(attr));
      if (!read) {
        issues.push({
          path: `connections[${i}].options.${option}`,
          message: `set on "${c.name}", but no policy rule for this connection reads attrs.${attr}: ${option} only marks requests, it blocks nothing until a rule denies or reviews them (e.g. when: attrs.${attr})`,
        });
      }
    }
  });
  return issues;
}

/**
 * Every rule that does not compile (bad glob, CEL parse/name/type error, unknown connection),
 * each with its path — compilePolicy, as start-up runs it, stops at the first. Rules compile
 * independently, so each is compiled alone with the same options; the whole policy is then
 * compiled once more exactly as start-up does, so nothing start-up refuses passes here.
 */
export function compileIssues(config: LintablePolicyConfig): PolicyLintIssue[] {
  const connections = config.connections.map((c) => c.name);
  const issues: PolicyLintIssue[] = [];
  const asIssue = (err: unknown, i: number): PolicyLintIssue => {
    if (!(err instanceof PolicyError)) throw err;
    // compilePolicy names the rule as `policy.rules[<index in what it compiled>] "<name>": <what>`.
    const m = /^policy\.rules\[\d+\] (.*)$/s.exec(err.message);
    return { path: `policy.rules[${i}]`, message: m ? m[1]! : err.message };
  };
  config.policy.rules.forEach((rule, i) => {
    try {
      compilePolicy({ default: config.policy.default, rules: [rule] } as DeepReadonly<PolicyConfig>, { connections });
    } catch (err) {
      issues.push(asIssue(err, i));
    }
  });
  if (issues.length === 0) {
    try {
      compilePolicy(config.policy, { connections });
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      issues.push({ path: 'policy', message: err.message });
    }
  }
  return issues;
}

function describeScope(connections: readonly string[], typeOf: ReadonlyMap<string, string>): string {
  return connections.map((c) => `${c}: ${typeOf.get(c) ?? 'unknown'}`).join(', ');
}

/** ` (did you mean "git.tag_move"?)` for a near miss, else ''. */
function suggest(name: string, known: readonly Known[]): string {
  return suggestName(name, [...new Set(known.map((k) => k.kind))]);
}

function suggestName(name: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  const plain = name.replace(/\*/g, '');
  for (const c of candidates) {
    const d = distance(plain, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean "${best}"?)` : '';
}

/** Optimal string alignment distance (a transposition counts as one edit: `mvoe` → `move`). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
