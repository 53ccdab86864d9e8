import { EventError } from './errors.js';

// A lone surrogate cannot be represented in UTF-8; I-JSON (RFC 7493), which JCS requires, forbids it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const hasWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function';

function wellFormed(s: string): boolean {
  return hasWellFormed ? (s as unknown as { isWellFormed(): boolean }).isWellFormed() : !LONE_SURROGATE.test(s);
}

// A string holding none of these is well formed (no surrogate at all) and JSON.stringify would only add the quotes.
const NEEDS_CARE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** JSON text of a string, JCS form; ERR_CANONICAL_JSON on a lone surrogate. */
function quote(s: string, path: Path): string {
  if (!NEEDS_CARE.test(s)) return `"${s}"`;
  if (!wellFormed(s)) fail(path, 'lone surrogate in string');
  // JSON.stringify escapes exactly the JCS set: " \ and U+0000..U+001F (\b \t \n \f \r short forms, else \u00xx lower case).
  return JSON.stringify(s);
}

/** Quoted property names: events repeat the same few dozen keys, so each is checked and quoted once. */
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 4096;

function quoteKey(key: string, path: Path): string {
  let q = quotedKeys.get(key);
  if (q !== undefined) return q;
  if (!wellFormed(key)) fail(path, 'lone surrogate in property name');
  q = NEEDS_CARE.test(key) ? JSON.stringify(key) : `"${key}"`;
  if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, q);
  return q;
}

/** Keys from the root to the value being serialized; turned into text only when reporting an error. */
export type Path = Array<string | number>;

function fail(path: Path, what: string): never {
  const text = path
    .map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`))
    .join('')
    .replace(/^\./, '');
  throw new EventError('ERR_CANONICAL_JSON', `cannot canonicalize ${text || '(root)'}: ${what}`);
}

/**
 * Serializes one value. `stack` holds the objects being serialized from the root down (cycle
 * detection: a linear scan of a few entries is cheaper than a Set per call). Text is built by concatenation: V8 keeps it as a rope and flattens it once at the end.
 */
function serialize(value: unknown, path: Path, stack: object[]): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) fail(path, 'non-finite number');
      // ECMAScript Number-to-String is exactly the JCS number form (RFC 8785 §3.2.2.3); -0 becomes 0.
      return String(value);
    case 'string':
      return quote(value, path);
    case 'undefined':
      return undefined;
    case 'object':
      break;
    default:
      fail(path, `unsupported type ${typeof value}`);
  }
  const obj = value as object;
  if (stack.includes(obj)) fail(path, 'cycle');
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    return serialize((toJSON as () => unknown).call(obj), path, stack);
  }
  stack.push(obj);
  let out: string;
  if (Array.isArray(obj)) {
    out = '[';
    for (let i = 0; i < obj.length; i++) {
      path.push(i);
      const s = serialize(obj[i], path, stack);
      // JSON.stringify would silently write null here; a hash must not paper over a missing element.
      if (s === undefined) fail(path, 'undefined array element');
      path.pop();
      out += i === 0 ? s : `,${s}`;
    }
    out += ']';
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) fail(path, 'not a plain object');
    out = objectText(obj as Record<string, unknown>, path, (_key, v, p) => serialize(v, p, stack));
  }
  stack.pop();
  return out;
}

/**
 * The canonical JSON of a plain object with the keys in `skip` left out; each member is
 * serialized by `child` (the caller's way to skip keys deeper down), or as usual when `child`
 * returns null.
 * Used for the hashed form of an event (hash.ts) without building a copy of it. `path` is where
 * the object sits in the value being canonicalized (for error messages).
 */
export function canonicalizeObjectExcept(
  obj: Record<string, unknown>,
  path: Path,
  skip: readonly string[],
  child: (key: string, value: unknown, path: Path) => string | undefined | null,
): string {
  return objectText(obj, path, (key, value, p) => {
    if (skip.includes(key)) return undefined;
    const s = child(key, value, p);
    return s === null ? serialize(value, p, []) : s;
  });
}

/**
 * `{…}` of an object's members in sorted key order (UTF-16 code units, RFC 8785 §3.2.3), each
 * member's text from `member` (called with the key pushed on `path`); a member whose text is
 * undefined is left out, as JSON leaves out undefined properties (optional fields rely on this).
 */
function objectText(obj: Record<string, unknown>, path: Path, member: (key: string, value: unknown, path: Path) => string | undefined): string {
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    path.push(key);
    const s = member(key, obj[key], path);
    if (s === undefined) {
      path.pop();
      continue;
    }
    const q = quoteKey(key, path);
    path.pop();
    out += first ? `${q}:${s}` : `,${q}:${s}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * Canonical JSON per RFC 8785 (JCS): object keys sorted by UTF-16 code
 * units, ECMAScript number serialization, minimal string escaping, no
 * whitespace. Rejects (ERR_CANONICAL_JSON) non-finite numbers, bigint,
 * functions, symbols, undefined array elements, lone surrogates, cycles and
 * non-plain objects (a `toJSON` method, e.g. on Date, is honoured).
 * Properties whose value is `undefined` are omitted, as in JSON.
 */
export function canonicalize(value: unknown): string {
  const out = serialize(value, [], []);
  if (out === undefined) fail([], 'undefined');
  return out;
}
