import type { z } from 'zod';

/**
 * A boolean checker compiled once from a zod schema, for values that came out of `JSON.parse`
 * (plain objects, arrays, strings, finite numbers, booleans, null).
 *
 * Sound by construction, never complete: it answers `true` only when the zod schema accepts the
 * value, and `false` for anything invalid *or* anything it does not understand (a schema node or
 * check outside the small set below, a `__proto__` / `constructor` key, a non-plain object). A
 * caller falls back to zod on `false`, so zod keeps deciding every invalid event and writing its
 * issues; the checker only spares zod's per-node objects on the events that are fine (issue 21:
 * zod was ~11–18% of the audit writer's CPU).
 *
 * Understood: object (strict: catchall never), optional, string, number, boolean, unknown,
 * enum, literal, array, record (string keys), union; checks min_length, greater_than, less_than,
 * number_format int/safeint, string_format with a pattern (regex, iso datetime) — each doing
 * exactly what zod 4's check does (see node_modules/zod/v4/core/checks.js).
 */
export type JsonCheck = (value: unknown) => boolean;

const never: JsonCheck = () => false;
const always: JsonCheck = () => true;

interface Def {
  type: string;
  checks?: Array<{ _zod: { def: CheckDef } }>;
  // biome-ignore lint/suspicious/noExplicitAny: zod's internal definitions are untyped here on purpose.
  [k: string]: any;
}
interface CheckDef {
  check: string;
  format?: string;
  pattern?: RegExp;
  minimum?: number;
  value?: unknown;
  inclusive?: boolean;
  when?: unknown;
}

function isObj(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/** Code points of a string (a surrogate pair counts once), as zod's min_length counts strings. */
function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** One zod check compiled, or undefined when it is not one this module understands. */
function compileCheck(c: CheckDef): JsonCheck | undefined {
  switch (c.check) {
    case 'min_length': {
      const min = c.minimum;
      if (typeof min !== 'number') return undefined;
      return (v) => {
        const units = (v as { length: number }).length;
        if (typeof v === 'string' && units >= min && units < min * 2) return codePoints(v) >= min;
        return units >= min;
      };
    }
    case 'greater_than': {
      const min = c.value;
      if (typeof min !== 'number') return undefined;
      return c.inclusive ? (v) => (v as number) >= min : (v) => (v as number) > min;
    }
    case 'less_than': {
      const max = c.value;
      if (typeof max !== 'number') return undefined;
      return c.inclusive ? (v) => (v as number) <= max : (v) => (v as number) < max;
    }
    case 'number_format':
      // `.int()`: an integer in the safe range.
      return c.format === 'safeint' ? (v) => Number.isSafeInteger(v) : undefined;
    case 'string_format': {
      const re = c.pattern;
      if (!(re instanceof RegExp)) return undefined;
      return (v) => {
        re.lastIndex = 0;
        return re.test(v as string);
      };
    }
    default:
      return undefined;
  }
}

/** The node's own checks (`.min(1)`, `.regex()`, `.int()`…) and, for a string format, its pattern. */
function compileChecks(def: Def): JsonCheck[] | undefined {
  const out: JsonCheck[] = [];
  // A schema that is also a check (z.iso.datetime(), z.int()) runs itself as its first check.
  if (def['check'] !== undefined) {
    const own = compileCheck(def as unknown as CheckDef);
    if (!own) return undefined;
    out.push(own);
  }
  for (const c of def.checks ?? []) {
    const cd = c._zod.def;
    // A conditional check (`when`) other than min_length's "has a length" guard is not understood.
    if (cd.when !== undefined && cd.check !== 'min_length') return undefined;
    const f = compileCheck(cd);
    if (!f) return undefined;
    out.push(f);
  }
  return out;
}

function withChecks(base: JsonCheck, checks: JsonCheck[]): JsonCheck {
  if (checks.length === 0) return base;
  if (checks.length === 1) {
    const c0 = checks[0]!;
    return (v) => base(v) && c0(v);
  }
  return (v) => {
    if (!base(v)) return false;
    for (const c of checks) if (!c(v)) return false;
    return true;
  };
}

function compileNode(schema: z.ZodType, memo: Map<z.ZodType, JsonCheck>): JsonCheck {
  const hit = memo.get(schema);
  if (hit) return hit;
  const f = compileFresh(schema, memo);
  memo.set(schema, f);
  return f;
}

function compileFresh(schema: z.ZodType, memo: Map<z.ZodType, JsonCheck>): JsonCheck {
  const zod = (schema as unknown as { _zod: { def: Def; values?: unknown } })._zod;
  const def = zod.def;
  const checks = compileChecks(def);
  if (!checks) return never;
  switch (def.type) {
    case 'string':
      return withChecks((v) => typeof v === 'string', checks);
    case 'number':
      if (def['coerce']) return never;
      return withChecks((v) => typeof v === 'number' && Number.isFinite(v), checks);
    case 'boolean':
      if (def['coerce']) return never;
      return withChecks((v) => typeof v === 'boolean', checks);
    case 'unknown':
      return checks.length === 0 ? always : never;
    case 'enum':
    case 'literal': {
      const values = zod.values;
      if (!(values instanceof Set) || checks.length > 0) return never;
      return (v) => values.has(v);
    }
    case 'optional': {
      if (checks.length > 0) return never;
      const inner = compileNode(def['innerType'], memo);
      return (v) => v === undefined || inner(v);
    }
    case 'array': {
      const el = compileNode(def['element'], memo);
      return withChecks((v) => {
        if (!Array.isArray(v)) return false;
        for (let i = 0; i < v.length; i++) if (!el(v[i])) return false;
        return true;
      }, checks);
    }
    case 'union': {
      if (checks.length > 0 || def['inclusive'] === false) return never;
      const options = (def['options'] as z.ZodType[]).map((o) => compileNode(o, memo));
      return (v) => {
        for (const o of options) if (o(v)) return true;
        return false;
      };
    }
    case 'record': {
      const keyDef = (def['keyType'] as { _zod: { def: Def } })._zod.def;
      // String keys with no checks of their own: every JSON key passes.
      if (checks.length > 0 || keyDef.type !== 'string' || (keyDef.checks?.length ?? 0) > 0 || keyDef['check'] !== undefined) return never;
      const value = compileNode(def['valueType'], memo);
      return (v) => {
        if (!isObj(v)) return false;
        for (const k in v) {
          // Keys zod treats specially (prototype, plain-object test): let zod decide.
          if (k === '__proto__' || k === 'constructor' || !Object.hasOwn(v, k)) return false;
          if (!value(v[k])) return false;
        }
        return true;
      };
    }
    case 'object': {
      const catchall = def['catchall'] as z.ZodType | undefined;
      // Strict objects only (unknown keys rejected): a stripping or passthrough object would change the value.
      if (checks.length > 0 || !catchall || (catchall as unknown as { _zod: { def: Def } })._zod.def.type !== 'never') return never;
      const shape = def['shape'] as Record<string, z.ZodType>;
      const keys = Object.keys(shape);
      const fns = keys.map((k) => compileNode(shape[k]!, memo));
      const known = new Set(keys);
      return (v) => {
        if (!isObj(v)) return false;
        for (let i = 0; i < keys.length; i++) if (!fns[i]!(v[keys[i]!])) return false;
        for (const k in v) if (!known.has(k) || k === '__proto__' || !Object.hasOwn(v, k)) return false;
        return true;
      };
    }
    default:
      return never;
  }
}

/**
 * Compiles `schema` into a {@link JsonCheck}: `true` means the schema accepts the value (parsed JSON)
 * unchanged; `false` means "ask zod".
 */
export function compileJsonCheck(schema: z.ZodType): JsonCheck {
  return compileNode(schema, new Map());
}
