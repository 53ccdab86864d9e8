import { MaskingError } from '../errors.js';
import type { SecretInput } from '../types.js';
import { secretVariants } from './exact-variants.js';

/** Values shorter than this would mask ordinary words. */
export const MIN_SECRET_LENGTH = 6;
const REF_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;

/** Compiled exact matcher over all variants of all brokered secrets. */
export interface ExactSet {
  /** Matches variants in JS strings (UTF-16). */
  readonly text: RegExp | undefined;
  /** Matches variants in latin1-decoded bytes (UTF-8 of each variant). */
  readonly bytes: RegExp | undefined;
  readonly refText: ReadonlyMap<string, string>;
  readonly refBytes: ReadonlyMap<string, string>;
  /** Longest variant, in bytes (UTF-8), which is never less than in UTF-16 units. */
  readonly window: number;
  readonly refs: readonly string[];
}

function escapeText(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function escapeLatin1(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x80 ? `\\x${c.toString(16).padStart(2, '0')}` : escapeText(s[i]!);
  }
  return out;
}

function alternation(variants: string[], quote: (s: string) => string): RegExp | undefined {
  if (variants.length === 0) return undefined;
  // Longest first: at a given start the longest form (e.g. padded base64) wins.
  const sorted = [...variants].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  return new RegExp(sorted.map(quote).join('|'), 'g');
}

/** Validates the secrets and compiles their variants. Throws ERR_MASKING_CONFIG naming the ref, never the value. */
export function compileSecrets(secrets: readonly SecretInput[]): ExactSet {
  const refText = new Map<string, string>();
  const refBytes = new Map<string, string>();
  const refs: string[] = [];
  const perSecret: { ref: string; variants: string[] }[] = [];
  secrets.forEach((s, i) => {
    if (typeof s?.ref !== 'string' || !REF_SHAPE.test(s.ref)) {
      throw new MaskingError('ERR_MASKING_CONFIG', `secrets[${i}]: ref must match ${REF_SHAPE}`);
    }
    if (typeof s.value !== 'string' || s.value.length < MIN_SECRET_LENGTH) {
      throw new MaskingError(
        'ERR_MASKING_CONFIG',
        `secret ${s.ref}: value must be a string of at least ${MIN_SECRET_LENGTH} characters`,
      );
    }
    refs.push(s.ref);
    perSecret.push({ ref: s.ref, variants: secretVariants(s.value) });
  });
  // Raw values first, so a value that equals another secret's encoding keeps its own ref.
  for (const { ref, variants } of perSecret) if (!refText.has(variants[0]!)) refText.set(variants[0]!, ref);
  for (const { ref, variants } of perSecret) for (const v of variants) if (!refText.has(v)) refText.set(v, ref);
  let window = 0;
  for (const [v, ref] of refText) {
    const latin1 = Buffer.from(v, 'utf8').toString('latin1');
    if (!refBytes.has(latin1)) refBytes.set(latin1, ref);
    window = Math.max(window, latin1.length);
  }
  return {
    text: alternation([...refText.keys()], escapeText),
    bytes: alternation([...refBytes.keys()], escapeLatin1),
    refText,
    refBytes,
    window,
    refs,
  };
}
