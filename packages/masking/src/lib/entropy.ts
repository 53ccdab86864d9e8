/** Shannon entropy of a string, in bits per character. */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const PLACEHOLDER_WORDS = new Set([
  'changeme',
  'change_me',
  'password',
  'passwd',
  'secret',
  'token',
  'example',
  'placeholder',
  'redacted',
  'dummy',
  'null',
  'none',
  'nil',
  'undefined',
  'true',
  'false',
  'test',
  'testing',
  'default',
  'empty',
  'notset',
  'not_set',
  'required',
  'optional',
  'string',
  'your_token',
]);

/**
 * True for values that are obviously not a secret: variable references
 * (`${VAR}`, `$VAR`, `%VAR%`, `<token>`), masks (`****`, `xxxx`), and words
 * people put in examples. Used by heuristic detectors only; exact values and
 * well-known formats are masked whatever they look like.
 */
export function isPlaceholder(value: string): boolean {
  const v = value.toLowerCase();
  if (/^[$%<{[]/.test(v)) return true;
  if (/x{4}|\*{3}|\.{3}|#{3}|0{8}/.test(v)) return true;
  if (PLACEHOLDER_WORDS.has(v)) return true;
  if (/^(?:your|my|some)[_-]?/.test(v) && /(?:token|key|secret|password|here)/.test(v)) return true;
  if (/example|placeholder|changeme|redacted|dummy|sample/.test(v)) return true;
  // One repeated character ("aaaaaaaa") is never a real secret.
  if (/^(.)\1*$/.test(v)) return true;
  return false;
}

/**
 * True when a value looks like code referring to a secret rather than the
 * secret itself: dotted identifiers (`process.env.TOKEN`), ENV_NAMES, short
 * words.
 */
export function looksLikeReference(value: string): boolean {
  if (/^[A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_]{0,63}){1,8}$/.test(value)) return true;
  if (/^[A-Z][A-Z0-9_]{0,127}$/.test(value)) return true;
  if (/^[A-Za-z]{1,19}$/.test(value)) return true;
  return false;
}
