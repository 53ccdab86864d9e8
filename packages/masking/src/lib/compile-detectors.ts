import { MaskingError } from '../errors.js';
import type { CustomDetector, MaskerOptions } from '../types.js';
import { BUILTIN_DETECTORS, type DetectorDef, type ValidateOptions } from './detectors/index.js';
import { KeywordIndex } from './keyword-index.js';
import { regexBound } from './regex-bound.js';

/** A detector ready to run. */
export interface CompiledDetector {
  readonly id: string;
  readonly re: RegExp;
  readonly hasGroup: boolean;
  readonly priority: number;
  readonly validate: ((secret: string, opts: ValidateOptions) => boolean) | undefined;
}

/** Detectors compiled once; shared by every masker derived with withSecrets. */
export interface DetectorSet {
  readonly detectors: readonly CompiledDetector[];
  readonly index: KeywordIndex;
  /** Longest reach of any detector from its match start (match + lookahead). */
  readonly window: number;
  /** Longest lookbehind of any detector. */
  readonly behind: number;
  readonly validateOptions: ValidateOptions;
}

const ID_SHAPE = /^[a-z0-9][a-z0-9-]{0,63}$/;

function config(message: string, cause?: unknown): MaskingError {
  return new MaskingError('ERR_MASKING_CONFIG', message, { cause });
}

function compileOne(def: DetectorDef): { det: CompiledDetector; window: number; behind: number } {
  let bound: ReturnType<typeof regexBound>;
  try {
    bound = regexBound(def.pattern);
  } catch (err) {
    // Unbounded patterns are refused: they could backtrack without limit on untrusted input.
    throw config(`detector ${def.id}: ${(err as Error).message}`, err);
  }
  if (def.keywords.length === 0 || def.keywords.some((k) => k.length === 0 || !/^[\x20-\x7e]+$/.test(k))) {
    throw config(`detector ${def.id}: keywords must be non-empty printable ASCII`);
  }
  const hasGroup = def.pattern.includes('(?<s>');
  let re: RegExp;
  try {
    re = new RegExp(def.pattern, `g${def.caseInsensitive ? 'i' : ''}${hasGroup ? 'd' : ''}`);
  } catch (err) {
    throw config(`detector ${def.id}: invalid pattern`, err);
  }
  return {
    det: { id: def.id, re, hasGroup, priority: def.priority ?? 2, validate: def.validate },
    window: bound.window,
    behind: bound.behind,
  };
}

function fromCustom(c: CustomDetector): DetectorDef {
  if (typeof c?.id !== 'string' || !ID_SHAPE.test(c.id)) throw config(`custom detector: id must match ${ID_SHAPE}`);
  if (typeof c.pattern !== 'string' || !Array.isArray(c.keywords)) throw config(`detector ${c.id}: pattern and keywords required`);
  return {
    id: c.id,
    pattern: c.pattern,
    keywords: c.keywords.map((k) => String(k).toLowerCase()),
    caseInsensitive: c.caseInsensitive === true,
  };
}

/** Selects, validates and compiles the detectors named by the options. */
export function compileDetectors(opts: MaskerOptions): DetectorSet {
  const wanted = opts.detectors ?? 'all';
  let defs: DetectorDef[];
  if (wanted === 'all') defs = [...BUILTIN_DETECTORS];
  else {
    if (!Array.isArray(wanted)) throw config("detectors must be 'all' or a list of ids");
    const byId = new Map(BUILTIN_DETECTORS.map((d) => [d.id, d]));
    defs = wanted.map((id) => {
      const d = byId.get(id);
      if (!d) throw config(`unknown detector id: ${String(id)}`);
      return d;
    });
  }
  if (opts.entropy === false) defs = defs.filter((d) => d.id !== 'generic-secret');
  const custom = (opts.customDetectors ?? []).map(fromCustom);
  const ids = new Set<string>();
  for (const d of [...defs, ...custom]) {
    if (ids.has(d.id)) throw config(`duplicate detector id: ${d.id}`);
    ids.add(d.id);
  }
  const entropy = opts.entropy === false ? {} : (opts.entropy ?? {});
  const validateOptions: ValidateOptions = { minEntropy: entropy.minEntropy ?? 3.0, minLength: entropy.minLength ?? 8 };
  if (!(validateOptions.minEntropy >= 0 && validateOptions.minEntropy <= 8)) throw config('entropy.minEntropy must be in [0, 8]');
  if (!(Number.isInteger(validateOptions.minLength) && validateOptions.minLength >= 1 && validateOptions.minLength <= 200)) {
    throw config('entropy.minLength must be an integer in [1, 200]');
  }
  const all = [...defs, ...custom];
  const compiled = all.map(compileOne);
  return {
    detectors: compiled.map((c) => c.det),
    index: new KeywordIndex(all.map((d) => d.keywords.map((k) => k.toLowerCase()))),
    window: Math.max(0, ...compiled.map((c) => c.window)),
    behind: Math.max(0, ...compiled.map((c) => c.behind)),
    validateOptions,
  };
}
