import type { Finding, Masker } from '@agentgate/masking';

/** What replaces a Secret value: `stringData` gets the text, `data` its base64 (clients decode `data` as bytes). */
export const SECRET_PLACEHOLDER = '[REDACTED:kubernetes-secret]';
const SECRET_PLACEHOLDER_B64 = Buffer.from(SECRET_PLACEHOLDER).toString('base64');
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const MAX_DEPTH = 100;

/** How the objects of one response are masked. */
export type ObjectMode = 'secret' | 'configmap' | 'event';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Tally of what one response had masked. */
export class MaskTally {
  secretValues = 0;
  readonly detectorFindings: Finding[] = [];
  findings(): Finding[] {
    return [...(this.secretValues > 0 ? [{ type: 'kubernetes-secret', count: this.secretValues }] : []), ...this.detectorFindings];
  }
}

/**
 * Masks, in place, every object of a parsed response (an object, a list, a
 * Table, a watch event):
 * - `secret`: every value of every `data` and `stringData` map, and the
 *   client-side-apply annotation (it holds the whole object as applied,
 *   values included). Keys stay (clients show which keys exist);
 * - `configmap`: the detectors over `data` values (and sensitive keys such
 *   as `password` replaced whole), and over the annotation;
 * - `event`: the detectors over `message` and `note`.
 * Objects deeper than any real API response are dropped whole (fail closed).
 */
export function maskObjects(value: unknown, mode: ObjectMode, detectors: Masker | undefined, tally: MaskTally, depth = 0): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = maskObjects(value[i], mode, detectors, tally, depth + 1);
    return value;
  }
  if (!isObject(value)) return value;
  if (depth > MAX_DEPTH) {
    tally.secretValues++;
    return null;
  }
  if (mode === 'secret') maskSecretFields(value, tally);
  else if (mode === 'configmap' && detectors) maskConfigMapFields(value, detectors, tally);
  else if (mode === 'event' && detectors) maskEventFields(value, detectors, tally);
  maskLastApplied(value, mode, detectors, tally);
  for (const [key, child] of Object.entries(value)) {
    if ((key === 'data' || key === 'stringData') && (mode === 'secret' || mode === 'configmap')) continue;
    if (typeof child === 'object' && child !== null) value[key] = maskObjects(child, mode, detectors, tally, depth + 1);
  }
  return value;
}

function maskSecretFields(obj: Json, tally: MaskTally): void {
  for (const field of ['data', 'stringData'] as const) {
    const map = obj[field];
    if (!isObject(map)) continue;
    for (const key of Object.keys(map)) {
      if (map[key] === null || map[key] === undefined) continue;
      map[key] = field === 'data' ? SECRET_PLACEHOLDER_B64 : SECRET_PLACEHOLDER;
      tally.secretValues++;
    }
  }
}

function maskConfigMapFields(obj: Json, detectors: Masker, tally: MaskTally): void {
  const data = obj['data'];
  if (!isObject(data)) return;
  const r = detectors.maskJson(data);
  obj['data'] = r.value;
  tally.detectorFindings.push(...r.findings.map(({ type, ref, count }) => ({ type, ...(ref !== undefined && { ref }), count })));
}

function maskEventFields(obj: Json, detectors: Masker, tally: MaskTally): void {
  for (const field of ['message', 'note'] as const) {
    const text = obj[field];
    if (typeof text !== 'string') continue;
    const r = detectors.maskText(text);
    obj[field] = r.text;
    tally.detectorFindings.push(...r.findings);
  }
}

/** The annotation `kubectl apply` (client side) keeps: the applied object as JSON text, Secret values included. */
function maskLastApplied(obj: Json, mode: ObjectMode, detectors: Masker | undefined, tally: MaskTally): void {
  const meta = obj['metadata'];
  if (!isObject(meta) || !isObject(meta['annotations'])) return;
  const annotations = meta['annotations'];
  const text = annotations[LAST_APPLIED];
  if (typeof text !== 'string') return;
  if (mode === 'secret') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Unparsable: it cannot be shown safely in part.
      annotations[LAST_APPLIED] = SECRET_PLACEHOLDER;
      tally.secretValues++;
      return;
    }
    annotations[LAST_APPLIED] = JSON.stringify(maskObjects(parsed, mode, detectors, tally, MAX_DEPTH - 8));
  } else if (detectors) {
    const r = detectors.maskText(text);
    annotations[LAST_APPLIED] = r.text;
    tally.detectorFindings.push(...r.findings);
  }
}
