import { Transform } from 'node:stream';
import type { Finding, Masker, MaskerOptions, MaskJsonOptions, MaskJsonResult, MaskTextResult, SecretInput, StreamRedactor } from './types.js';
import { compileDetectors, type DetectorSet } from './lib/compile-detectors.js';
import { compileSecrets } from './lib/exact-set.js';
import { FindingTally } from './lib/findings.js';
import { JsonMasker, normaliseKey, SENSITIVE_KEYS, sensitiveKeyTest } from './lib/json-mask.js';
import { CleanMemo } from './lib/clean-memo.js';
import { type Engine, findMatches, mergeSpans, render } from './lib/scanner.js';
import { ByteStreamRedactor, maxHoldBackOf } from './lib/stream-redactor.js';
import { MaskingError } from './errors.js';

function mask(engine: Engine, s: string, mode: 'text' | 'bytes'): { out: string; findings: Finding[] } {
  const matches = findMatches(engine, s, 0, mode);
  if (matches.length === 0) return { out: s, findings: [] };
  const spans = mergeSpans(matches);
  const tally = new FindingTally();
  tally.addSpans(spans);
  return { out: render(s, spans, 0, s.length), findings: tally.list() };
}

function build(set: DetectorSet, secrets: readonly SecretInput[], sensitive: ReadonlySet<string>): Masker {
  if (!Array.isArray(secrets)) throw new MaskingError('ERR_MASKING_CONFIG', 'secrets must be an array');
  const exact = compileSecrets(secrets);
  const isSensitive = sensitiveKeyTest(sensitive);
  const engine: Engine = { set, exact, window: Math.max(set.window, exact.window), behind: Math.max(set.behind, exact.behind) };
  const maskText = (text: string): MaskTextResult => {
    const r = mask(engine, text, 'text');
    return { text: r.out, findings: r.findings };
  };
  const memo = new CleanMemo();
  // JSON values repeat from one event to the next (every key, most enum-like values): a string this masker
  // found nothing in is not scanned again. Only such strings are remembered, never one that held a secret.
  const maskTextMemo = (text: string): MaskTextResult => {
    if (memo.has(text)) return { text, findings: [] };
    const r = maskText(text);
    if (r.findings.length === 0 && r.text === text) memo.add(text);
    return r;
  };
  const isCleanMemo = (text: string): boolean => memo.has(text);
  const masker: Masker = {
    maskText,
    maskBytes(bytes: Uint8Array) {
      const r = mask(engine, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'), 'bytes');
      return { bytes: Buffer.from(r.out, 'latin1'), findings: r.findings };
    },
    maskJson<T>(value: T, opts?: MaskJsonOptions): MaskJsonResult<T> {
      const r = new JsonMasker(maskTextMemo, isSensitive, isCleanMemo, opts?.share === true).run(value);
      return { value: r.value as T, findings: r.findings };
    },
    stream(): StreamRedactor {
      return new ByteStreamRedactor(engine);
    },
    transform() {
      const r = new ByteStreamRedactor(engine);
      const t = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          const out = r.push(chunk);
          cb(null, out.length > 0 ? out : undefined);
        },
        flush(cb) {
          const out = r.end();
          cb(null, out.length > 0 ? out : undefined);
        },
      });
      return Object.assign(t, { findings: () => r.findings() });
    },
    withSecrets(list: readonly SecretInput[]): Masker {
      return build(set, list, sensitive);
    },
    maxHoldBack: maxHoldBackOf(engine),
    window: engine.window,
    detectorIds: set.detectors.map((d) => d.id),
  };
  return Object.freeze(masker);
}

/**
 * Compiles a masker once: detectors (checked for bounded, linear-time
 * patterns), keyword prefilter and the encoded forms of every secret.
 * Throws {@link MaskingError} `ERR_MASKING_CONFIG` on bad options; messages
 * name refs and detector ids, never secret values.
 *
 * @example
 * const m = createMasker({ secrets: [{ ref: 'conn/github', value: token }] });
 * m.maskText(log).text; // "... [REDACTED:secret:conn/github] ..."
 */
export function createMasker(options: MaskerOptions = {}): Masker {
  if (options === null || typeof options !== 'object') throw new MaskingError('ERR_MASKING_CONFIG', 'options must be an object');
  const set = compileDetectors(options);
  const extra = options.sensitiveKeys ?? [];
  if (!Array.isArray(extra) || extra.some((k) => typeof k !== 'string' || k.length === 0)) {
    throw new MaskingError('ERR_MASKING_CONFIG', 'sensitiveKeys must be a list of non-empty strings');
  }
  const sensitive = new Set([...SENSITIVE_KEYS, ...extra.map(normaliseKey)]);
  return build(set, options.secrets ?? [], sensitive);
}
