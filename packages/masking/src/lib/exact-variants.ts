/** Shortest encoded form worth masking; shorter fragments would mask noise. */
const MIN_VARIANT = 8;

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function toUrlSafe(s: string): string {
  return s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Base64 forms of `value` as it appears inside a longer encoded string
 * (e.g. base64("user:" + secret)): for each of the 3 alignments, the
 * characters that depend on the secret's bytes only. This is what CI
 * runners do (offsets 0, 1 and 2); up to 2 bytes at each end of the secret
 * stay unmasked in that case, the rest is covered.
 */
function base64Cores(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const skip = (3 - offset) % 3;
    const aligned = bytes.subarray(skip);
    const full = aligned.length - (aligned.length % 3);
    if (full > 0) out.push(b64(aligned.subarray(0, full)));
  }
  return out;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * Every form of a secret value the engine masks: raw, JSON-escaped,
 * URL-encoded (upper- and lowercase hex), XML-escaped, hex (both cases),
 * base64 (padded whole, and the three alignment cores) and base64url.
 * Longest first is left to the caller.
 */
export function secretVariants(value: string): string[] {
  const bytes = new TextEncoder().encode(value);
  const hex = Buffer.from(bytes).toString('hex');
  const url = encodeURIComponent(value);
  const set = new Set<string>([value]);
  const add = (v: string): void => {
    if (v.length >= MIN_VARIANT) set.add(v);
  };
  add(JSON.stringify(value).slice(1, -1));
  add(url);
  add(url.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  add(xmlEscape(value));
  add(hex);
  add(hex.toUpperCase());
  const whole = b64(bytes);
  add(whole);
  add(toUrlSafe(whole));
  for (const core of base64Cores(bytes)) {
    add(core);
    add(toUrlSafe(core));
  }
  return [...set];
}
