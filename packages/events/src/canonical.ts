import { EventError } from './errors.js';

// A lone surrogate cannot be represented in UTF-8; I-JSON (RFC 7493), which JCS requires, forbids it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const hasWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function';

function wellFormed(s: string): boolean {
  return hasWellFormed ? (s as unknown as { isWellFormed(): boolean }).isWellFormed() : !LONE_SURROGATE.test(s);
}

/** Keys from the root to the value being serialized; turned into text only when reporting an error. */
type Path = Array<string | number>;

function fail(path: Path, what: string): never {
  const text = path
    .map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`))
    .join('')
    .replace(/^\./, '');
  throw new EventError('ERR_CANONICAL_JSON', `cannot canonicalize ${text || '(root)'}: ${what}`);
}

function serialize(value: unknown, path: Path, seen: Set<object>): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) fail(path, 'non-finite number');
      // ECMAScript Number-to-String is exactly the JCS number form (RFC 8785 §3.2.2.3); -0 becomes 0.
      return JSON.stringify(value);
    case 'string':
      if (!wellFormed(value)) fail(path, 'lone surrogate in string');
      // JSON.stringify escapes exactly the JCS set: " \ and U+0000..U+001F (\b \t \n \f \r short forms, else \u00xx lower case).
      return JSON.stringify(value);
    case 'undefined':
      return undefined;
    case 'object':
      break;
    default:
      fail(path, `unsupported type ${typeof value}`);
  }
  const obj = value as object;
  if (seen.has(obj)) fail(path, 'cycle');
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    return serialize((toJSON as () => unknown).call(obj), path, seen);
  }
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      const parts: string[] = [];
      for (let i = 0; i < obj.length; i++) {
        path.push(i);
        const s = serialize(obj[i], path, seen);
        // JSON.stringify would silently write null here; a hash must not paper over a missing element.
        if (s === undefined) fail(path, 'undefined array element');
        path.pop();
        parts.push(s);
      }
      return `[${parts.join(',')}]`;
    }
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) fail(path, 'not a plain object');
    // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 prescribes.
    const keys = Object.keys(obj).sort();
    const parts: string[] = [];
    for (const key of keys) {
      path.push(key);
      const s = serialize((obj as Record<string, unknown>)[key], path, seen);
      path.pop();
      // Properties whose value is undefined are absent in JSON; optional fields rely on this.
      if (s === undefined) continue;
      if (!wellFormed(key)) fail(path, 'lone surrogate in property name');
      parts.push(`${JSON.stringify(key)}:${s}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    seen.delete(obj);
  }
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
  const out = serialize(value, [], new Set());
  if (out === undefined) fail([], 'undefined');
  return out;
}
