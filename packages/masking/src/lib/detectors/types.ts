/** Tuning passed to detector validators. */
export interface ValidateOptions {
  readonly minEntropy: number;
  readonly minLength: number;
}

/**
 * A built-in detector. Every match must contain one of `keywords`
 * (compared lowercased), which is what lets the prefilter skip the regex on
 * text without the keyword; a test checks it on each positive fixture.
 */
export interface DetectorDef {
  readonly id: string;
  readonly keywords: readonly string[];
  /** Regex source: bounded quantifiers only, ASCII classes only (the engine also runs on raw bytes). */
  readonly pattern: string;
  readonly caseInsensitive?: boolean;
  /** Post-filter on the masked part; false drops the match (heuristic detectors only). */
  readonly validate?: (secret: string, opts: ValidateOptions) => boolean;
  /** Heuristic detectors lose overlaps against specific ones (default 2; generic 1). */
  readonly priority?: number;
}

/** Not preceded by a letter or digit: anchors prefixes like `SK` on a token start. */
export const LB = '(?<![A-Za-z0-9])';
/** Not followed by a letter or digit: fixed-length tokens end here. */
export const TB = '(?![A-Za-z0-9])';
