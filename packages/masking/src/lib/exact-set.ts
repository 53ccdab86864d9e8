import { MaskingError } from '../errors.js';
import type { SecretInput } from '../types.js';
import { secretForms } from './exact-variants.js';
import { LiteralSet } from './literal-set.js';
import { type GramFilter, gramsOf, MAX_UNIT, NORMALISE_BEHIND, originalExtent } from './normalise.js';

/** Values shorter than this would mask ordinary words. */
export const MIN_SECRET_LENGTH = 6;
const REF_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;

/** Grams of a set of forms, for the normalised view's unit check (see normalise.ts). */
export interface Grams {
  /** Gram length (half the shortest form, at most 4). */
  readonly g: number;
  readonly text: GramFilter;
  readonly bytes: GramFilter;
}

/** One compiled set of variants, for JS strings and for latin1-viewed bytes. */
export interface VariantMatcher {
  /** Matches variants in JS strings (UTF-16). */
  readonly text: LiteralSet | undefined;
  /** Matches variants in latin1-decoded bytes (UTF-8 of each variant). */
  readonly bytes: LiteralSet | undefined;
  readonly refText: ReadonlyMap<string, string>;
  readonly refBytes: ReadonlyMap<string, string>;
}

/** Compiled exact matcher over all variants of all brokered secrets. */
export interface ExactSet extends VariantMatcher {
  /** The forms matched on the normalised view (see normalise.ts), with their grams; undefined without secrets. */
  readonly normalised: (VariantMatcher & { readonly grams: Grams }) | undefined;
  /** Longest original reach of a normalised-view match: the radius of the view built around a unit. */
  readonly normalisedReach: number;
  /**
   * Longest reach of any match from its start, in bytes: the longest variant
   * (UTF-8, never less than in UTF-16 units) or the normalised reach.
   */
  readonly window: number;
  /** Lookbehind the normalised view reads (0 without secrets). */
  readonly behind: number;
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

function matcher(perSecret: readonly { ref: string; variants: readonly string[] }[]): VariantMatcher & { window: number; lengths: number[] } {
  const refText = new Map<string, string>();
  const refBytes = new Map<string, string>();
  // Raw values first, so a value that equals another secret's encoding keeps its own ref.
  for (const { ref, variants } of perSecret) if (!refText.has(variants[0]!)) refText.set(variants[0]!, ref);
  for (const { ref, variants } of perSecret) for (const v of variants) if (!refText.has(v)) refText.set(v, ref);
  let window = 0;
  const lengths: number[] = [];
  for (const [v, ref] of refText) {
    const latin1 = Buffer.from(v, 'utf8').toString('latin1');
    if (!refBytes.has(latin1)) refBytes.set(latin1, ref);
    window = Math.max(window, latin1.length);
    lengths.push(latin1.length);
  }
  return {
    text: refText.size > 0 ? new LiteralSet(refText.keys()) : undefined,
    bytes: refBytes.size > 0 ? new LiteralSet(refBytes.keys()) : undefined,
    refText,
    refBytes,
    window,
    lengths,
  };
}

function withGrams<M extends VariantMatcher>(m: M): M & { grams: Grams } {
  const shortest = Math.min(...[...m.refText.keys()].map((v) => v.length), ...[...m.refBytes.keys()].map((v) => v.length));
  const g = Math.max(1, Math.min(4, Math.floor(shortest / 2)));
  return { ...m, grams: { g, text: gramsOf(m.refText.keys(), g), bytes: gramsOf(m.refBytes.keys(), g) } };
}

/** Validates the secrets and compiles their variants. Throws ERR_MASKING_CONFIG naming the ref, never the value. */
export function compileSecrets(secrets: readonly SecretInput[]): ExactSet {
  const refs: string[] = [];
  const all: { ref: string; variants: string[] }[] = [];
  const norm: { ref: string; variants: string[] }[] = [];
  secrets.forEach((s, i) => {
    if (typeof s?.ref !== 'string' || !REF_SHAPE.test(s.ref)) {
      throw new MaskingError('ERR_MASKING_CONFIG', `secrets[${i}]: ref must match ${REF_SHAPE}`);
    }
    if (typeof s.value !== 'string' || s.value.length < MIN_SECRET_LENGTH) {
      throw new MaskingError('ERR_MASKING_CONFIG', `secret ${s.ref}: value must be a string of at least ${MIN_SECRET_LENGTH} characters`);
    }
    refs.push(s.ref);
    const forms = secretForms(s.value);
    all.push({ ref: s.ref, variants: forms.all });
    norm.push({ ref: s.ref, variants: forms.normalisable });
  });
  const plain = matcher(all);
  const normalised = secrets.length > 0 ? withGrams(matcher(norm)) : undefined;
  const normalisedReach = normalised ? Math.max(...normalised.lengths.map(originalExtent)) : 0;
  // At least one unit and its lookahead must fit in the window, or a stream could cut inside one undecided.
  const window = secrets.length > 0 ? Math.max(plain.window, normalisedReach, MAX_UNIT + 1) : 0;
  return {
    text: plain.text,
    bytes: plain.bytes,
    refText: plain.refText,
    refBytes: plain.refBytes,
    normalised,
    normalisedReach,
    window,
    behind: secrets.length > 0 ? NORMALISE_BEHIND : 0,
    refs,
  };
}
