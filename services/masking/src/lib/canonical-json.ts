/**
 * Is `text` exactly what `JSON.stringify(JSON.parse(text))` writes? Then a consumer that republishes
 * the parsed value unchanged may send the bytes it received instead of serialising it again.
 *
 * Sound, not complete: `true` only for text in the form JSON.stringify writes, given that the parsed
 * value has `keys` object members in all (the caller counts them on the parsed value: a text with more
 * members had a duplicate key, whose shadowed value no parse shows, so it must never pass as it is).
 * `false` for anything else, including forms JSON.stringify would write but this check does not follow
 * (then the caller serialises, as it would anyway):
 * - whitespace outside strings, a byte-order mark;
 * - an escape other than `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t` or a lowercase `\u00XX` for another
 *   control character (JSON.stringify writes every other character as it is; `\/` and `\u0041` are not its form);
 * - a number other than a canonical integer (no sign but `-`, no leading zero, at most 15 digits) or one
 *   `String(Number(token))` gives back unchanged (`1.0`, `1e3`, `-0` are not its form);
 * - an object key made only of digits (an array-index key moves first when parsed: the order would change);
 * - a member count that is not `keys`.
 * `text` must already have parsed (the check does not validate JSON).
 */
export function isCanonicalJson(text: string, keys: number): boolean {
  const n = text.length;
  let members = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      i = start;
      let digitsOnly = true;
      for (;;) {
        if (i >= n) return false;
        const d = text.charCodeAt(i);
        if (d === 0x22) break;
        if (d === 0x5c /* \ */) {
          digitsOnly = false;
          const e = text.charCodeAt(i + 1);
          if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
            i += 2;
            continue;
          }
          if (e !== 0x75 /* u */ || !isStringifyControlEscape(text, i + 2)) return false;
          i += 6;
          continue;
        }
        if (d < 0x30 || d > 0x39) digitsOnly = false;
        i++;
      }
      const end = i;
      i++;
      // A key: the next character is the colon (no whitespace in this form).
      if (text.charCodeAt(i) === 0x3a /* : */) {
        if (digitsOnly && end > start) return false;
        members++;
      }
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) i++;
        else break;
      }
      if (!isCanonicalNumber(text, start, i)) return false;
      continue;
    }
    // Structure and literals: { } [ ] : , t r u e f a l s n. Anything else (whitespace, a BOM) is not the form.
    if (c === 0x7b || c === 0x7d || c === 0x5b || c === 0x5d || c === 0x3a || c === 0x2c || (c >= 0x61 && c <= 0x7a)) {
      i++;
      continue;
    }
    return false;
  }
  return members === keys;
}

/** `\u00XX` (lowercase hex) for a control character JSON.stringify has no short escape for; `at` is after `\u`. */
function isStringifyControlEscape(text: string, at: number): boolean {
  if (text.charCodeAt(at) !== 0x30 || text.charCodeAt(at + 1) !== 0x30) return false;
  const h = text.charCodeAt(at + 2);
  const l = text.charCodeAt(at + 3);
  const hi = h === 0x30 ? 0 : h === 0x31 ? 1 : -1;
  const lo = l >= 0x30 && l <= 0x39 ? l - 0x30 : l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
  if (hi < 0 || lo < 0) return false;
  const code = hi * 16 + lo;
  // \b \t \n \f \r have short forms.
  return code !== 0x08 && code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d;
}

function isCanonicalNumber(text: string, start: number, end: number): boolean {
  let i = start;
  if (text.charCodeAt(i) === 0x2d) i++;
  // Integers up to 15 digits without a leading zero are written back as they are (and -0 is not).
  let plain = end - i > 0 && end - i <= 15;
  for (let j = i; plain && j < end; j++) {
    const d = text.charCodeAt(j);
    if (d < 0x30 || d > 0x39) plain = false;
  }
  if (plain) {
    if (text.charCodeAt(i) !== 0x30) return true;
    return end - i === 1 && i === start;
  }
  const token = text.slice(start, end);
  const value = Number(token);
  return Number.isFinite(value) && String(value) === token;
}

/** Object members in a parsed JSON value (what {@link isCanonicalJson} compares its count with). */
export function countMembers(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const v of value) n += countMembers(v);
    return n;
  }
  for (const k in value) {
    n++;
    n += countMembers((value as Record<string, unknown>)[k]);
  }
  return n;
}
