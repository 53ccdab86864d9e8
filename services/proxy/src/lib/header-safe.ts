/**
 * Header values built from data (a token's `iss` in an error description, an
 * approval id, a request id, an adapter's content type) go through here
 * before they reach `writeHead`/`setHeader`. Node throws ERR_INVALID_CHAR on
 * a control or non-Latin-1 character, and a client may misparse quotes or
 * obs-text, so the only safe alphabet is visible ASCII and space: anything
 * else becomes `?`, and the result is bounded. Pure and total: never throws.
 */

/** Visible ASCII and space: what every header value built here is made of. */
const SAFE_VALUE = /^[\x20-\x7e]*$/;
const UNSAFE_CHARS = /[^\x20-\x7e]/gu;
/** RFC 9110 token: the only characters of a field name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Default bound of one header value (characters). */
export const MAX_HEADER_VALUE = 1024;

function bound(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 3))}...` : text;
}

/**
 * Any text as a header value: visible ASCII and space only (control
 * characters, DEL and every non-ASCII code point become `?`), no leading or
 * trailing space, at most `max` characters.
 */
export function headerText(text: unknown, max = MAX_HEADER_VALUE): string {
  const s = typeof text === 'string' ? text : String(text ?? '');
  const clean = SAFE_VALUE.test(s) ? s : s.replace(UNSAFE_CHARS, '?');
  return bound(clean.trim(), max);
}

/**
 * Text to place inside a quoted-string (`error_description="…"`, `realm="…"`):
 * as {@link headerText}, and `"` / `\` become `'` / `/`, so the text can
 * never end the quotes or escape out of them.
 */
export function quotedText(text: unknown, max = 200): string {
  return headerText(text, Number.MAX_SAFE_INTEGER).replace(/"/g, "'").replace(/\\/g, '/').slice(0, max);
}

/**
 * A URL as a header value (Location): every byte outside visible ASCII, and
 * `"`, `\` and space, percent-encoded as UTF-8, so the target stays the same
 * for the client while the value stays safe. Bounded by `max` (a cut never
 * splits an escape).
 */
export function headerUrl(url: unknown, max = 8192): string {
  const s = typeof url === 'string' ? url : String(url ?? '');
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const piece =
      c > 0x20 && c < 0x7f && ch !== '"' && ch !== '\\'
        ? ch
        : [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    if (out.length + piece.length > max) break;
    out += piece;
  }
  return out;
}

/** True when `name` is a valid header field name (RFC 9110 token). */
export function isHeaderName(name: string): boolean {
  return TOKEN.test(name);
}

/**
 * A header record made safe to write: names that are not tokens are dropped,
 * each value (or each item of a list) is passed through {@link headerText}
 * unless it is already safe, numbers are kept as they are.
 */
export function safeHeaders(headers: Record<string, string | number | readonly string[] | undefined>): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || !isHeaderName(name)) continue;
    if (typeof value === 'number') out[name] = Number.isFinite(value) ? value : 0;
    else if (Array.isArray(value)) out[name] = value.map((v) => headerText(v));
    else out[name] = headerText(value);
  }
  return out;
}
