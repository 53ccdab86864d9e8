import type { Transform } from 'node:stream';

/** A value the secret broker holds, known by its ref (e.g. `conn/github`). */
export interface SecretInput {
  /** Name of the secret, shown in replacements and findings. Never the value. */
  readonly ref: string;
  /** The secret itself. At least 6 characters (shorter values would mask noise). */
  readonly value: string;
}

/** What was masked: a type tag and how often; `ref` for a brokered secret. */
export interface Finding {
  /** Detector id (e.g. `github-token`), `secret` for a brokered value, `sensitive-key` for a JSON key. */
  readonly type: string;
  /** Ref of the brokered secret that was hit (only for `type: 'secret'`). */
  readonly ref?: string;
  /** Number of masked occurrences. */
  readonly count: number;
  /** JSON path (`a.b[0].c`) where the hit was, for structured masking. */
  readonly path?: string;
}

/** Tuning of the generic "secret-looking key = high-entropy value" detector. */
export interface EntropyOptions {
  /** Minimum Shannon entropy, bits per character (default 3.0). */
  readonly minEntropy?: number;
  /** Minimum value length (default 8). */
  readonly minLength?: number;
}

/**
 * A caller-supplied detector. The pattern must use bounded quantifiers only
 * (`{n,m}`, `?`; no `*`, `+`, `{n,}`) and must contain one of the keywords
 * in every match, so that the prefilter may skip it safely.
 */
export interface CustomDetector {
  readonly id: string;
  /** Regex source (no flags; ASCII classes only). A named group `s` narrows what is masked. */
  readonly pattern: string;
  /** Case-insensitive literals, one of which occurs inside every match. */
  readonly keywords: readonly string[];
  readonly caseInsensitive?: boolean;
}

/** Options of {@link createMasker}. */
export interface MaskerOptions {
  /** Brokered secrets to mask exactly (and their encodings). */
  readonly secrets?: readonly SecretInput[];
  /** `'all'` (default) or the list of built-in detector ids to enable. */
  readonly detectors?: 'all' | readonly string[];
  /** Extra detectors, compiled and checked like the built-in ones. */
  readonly customDetectors?: readonly CustomDetector[];
  /** Generic entropy detector tuning, or `false` to disable it. */
  readonly entropy?: EntropyOptions | false;
  /**
   * Key names (compared lowercased, without `-`, `_`, `.`) whose JSON values are
   * replaced whole, on top of the built-in list.
   */
  readonly sensitiveKeys?: readonly string[];
}

/** Result of masking a string. */
export interface MaskTextResult {
  readonly text: string;
  readonly findings: Finding[];
}

/** Result of masking a JSON-like value. */
/** Options of {@link Masker.maskJson}. */
export interface MaskJsonOptions {
  /**
   * Return the input's own plain objects and arrays where nothing in them changed, instead of copies
   * (a value with nothing to mask comes back as the input itself). The caller must then not change the
   * result in place where it may be the input's. Default false.
   */
  share?: boolean;
}

export interface MaskJsonResult<T = unknown> {
  readonly value: T;
  readonly findings: Finding[];
}

/** Incremental redactor over bytes. Output joined equals masking the whole input. */
export interface StreamRedactor {
  /** Feeds a chunk; returns the bytes that are now safe to emit (maybe empty). */
  push(chunk: Uint8Array): Uint8Array;
  /** Flushes what was held back. The redactor cannot be used afterwards. */
  end(): Uint8Array;
  /** Findings so far (of emitted output). */
  findings(): Finding[];
}

/** A compiled masker. Immutable; safe to share. */
export interface Masker {
  maskText(text: string): MaskTextResult;
  /** Masks bytes (UTF-8 or any binary): works on bytes, never decodes. */
  maskBytes(bytes: Uint8Array): { bytes: Uint8Array; findings: Finding[] };
  /**
   * Masks every string and key of a JSON-like value (values of sensitive keys replaced whole). The
   * input is never changed. By default the result is a new value throughout; with `share`, the plain
   * objects and arrays left unchanged are the input's own (less to allocate when little is found).
   */
  maskJson<T>(value: T, opts?: MaskJsonOptions): MaskJsonResult<T>;
  stream(): StreamRedactor;
  /** A node Transform masking the bytes that pass through; `findings()` on it when done. */
  transform(): Transform & { findings(): Finding[] };
  /** A new masker with these secrets instead, sharing the compiled detectors. */
  withSecrets(secrets: readonly SecretInput[]): Masker;
  /** Upper bound of bytes a stream holds back (see README of the package). */
  readonly maxHoldBack: number;
  /** Longest possible match (bytes), the window a stream needs to decide. */
  readonly window: number;
  /** Ids of the enabled detectors. */
  readonly detectorIds: readonly string[];
}
