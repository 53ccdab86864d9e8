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
 * Base64 inside base64, as when an upstream echoes an `Authorization: Basic
 * base64(user:secret)` header in base64 again: for the whole encoding and
 * each alignment core of the value, the cores (standard and URL-safe) of
 * its own encoding. Any prefix or suffix at either level is covered.
 */
function nestedBase64(bytes: Uint8Array): string[] {
  const out: string[] = [];
  const ascii = new TextEncoder();
  for (const inner of [b64(bytes), ...base64Cores(bytes)]) {
    const outer = ascii.encode(inner);
    out.push(b64(outer));
    for (const core of base64Cores(outer)) out.push(core, toUrlSafe(core));
  }
  return out;
}

/** The forms of a secret, by where the engine looks for them. */
export interface SecretForms {
  /** Matched on the text as it is: every form. */
  readonly all: string[];
  /**
   * Also matched on the normalised view (JSON escapes decoded, base64 line
   * wrapping removed, see normalise.ts): the raw value and its base64 forms.
   */
  readonly normalisable: string[];
}

/**
 * Every form of a secret value the engine masks: raw, JSON-escaped,
 * URL-encoded (upper- and lowercase hex), XML-escaped, hex (both cases),
 * base64 (padded whole, and the three alignment cores), base64url, and
 * base64 of those base64 forms (depth 2). Longest first is left to the caller.
 */
export function secretForms(value: string): SecretForms {
  const bytes = new TextEncoder().encode(value);
  const hex = Buffer.from(bytes).toString('hex');
  const url = encodeURIComponent(value);
  const all = new Set<string>([value]);
  const normalisable = new Set<string>([value]);
  const add = (v: string, norm = false): void => {
    if (v.length < MIN_VARIANT) return;
    all.add(v);
    if (norm) normalisable.add(v);
  };
  add(JSON.stringify(value).slice(1, -1));
  add(url);
  add(url.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  add(xmlEscape(value));
  add(hex);
  add(hex.toUpperCase());
  const whole = b64(bytes);
  add(whole, true);
  add(toUrlSafe(whole), true);
  for (const core of base64Cores(bytes)) {
    add(core, true);
    add(toUrlSafe(core), true);
  }
  for (const v of nestedBase64(bytes)) add(v, true);
  return { all: [...all], normalisable: [...normalisable] };
}

/** Every form of a secret value the engine masks (see {@link secretForms}). */
export function secretVariants(value: string): string[] {
  return secretForms(value).all;
}
