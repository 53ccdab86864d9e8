import type { DetectorSet } from './compile-detectors.js';
import type { ExactSet } from './exact-set.js';

/** Everything a scan needs: detectors (shared) and the current secrets. */
export interface Engine {
  readonly set: DetectorSet;
  readonly exact: ExactSet;
  /** Longest reach of any matcher from a match start. */
  readonly window: number;
  /** Longest lookbehind of any matcher. */
  readonly behind: number;
}

/**
 * One regex match. [start, end) is what the regex consumed (it decides where
 * a stream may cut); [ms, me) is what gets masked (the `s` group, or all).
 */
export interface Match {
  start: number;
  end: number;
  ms: number;
  me: number;
  priority: number;
  order: number;
  type: string;
  ref: string | undefined;
  /** Continuation of a span masked before a forced cut: masked, not counted again. */
  carried?: boolean;
}

/** A masked region: union of strictly overlapping matches, labelled by the strongest. */
export interface Span {
  start: number;
  end: number;
  label: string;
  hits: { type: string; ref: string | undefined }[];
}

const EXACT_PRIORITY = 3;

/**
 * Finds matches starting at or after `from` (text before it is lookbehind
 * context only). `bytes` mode expects a latin1 string of raw bytes.
 *
 * Scan semantics (relied upon by the stream redactor): per matcher, a
 * left-to-right scan takes the match found at the earliest position and
 * resumes at its end; a match rejected by a validator resumes one position
 * later, so rejections never change what is found elsewhere.
 */
export function findMatches(engine: Engine, s: string, from: number, mode: 'text' | 'bytes'): Match[] {
  const out: Match[] = [];
  const { detectors, index, validateOptions } = engine.set;
  const hits = new Uint8Array(detectors.length);
  index.scan(s, from, s.length, hits);
  for (let d = 0; d < detectors.length; d++) {
    if (hits[d] === 0) continue;
    const det = detectors[d]!;
    const re = det.re;
    re.lastIndex = from;
    for (let m = re.exec(s); m !== null; m = re.exec(s)) {
      const start = m.index;
      const end = start + m[0].length;
      let ms = start;
      let me = end;
      if (det.hasGroup) {
        const g = m.indices?.groups?.['s'];
        if (g) [ms, me] = g;
      }
      if (me <= ms || (det.validate && !det.validate(s.slice(ms, me), validateOptions))) {
        re.lastIndex = start + 1;
        continue;
      }
      out.push({ start, end, ms, me, priority: det.priority, order: d, type: det.id, ref: undefined });
      if (end === start) re.lastIndex = start + 1;
    }
  }
  const re = mode === 'text' ? engine.exact.text : engine.exact.bytes;
  if (re) {
    const refs = mode === 'text' ? engine.exact.refText : engine.exact.refBytes;
    re.lastIndex = from;
    for (let m = re.exec(s); m !== null; m = re.exec(s)) {
      const start = m.index;
      const end = start + m[0].length;
      out.push({ start, end, ms: start, me: end, priority: EXACT_PRIORITY, order: -1, type: 'secret', ref: refs.get(m[0]) });
    }
  }
  return out;
}

function labelOf(m: Match): string {
  return m.ref !== undefined ? `${m.type}:${m.ref}` : m.type;
}

function better(a: Match, b: Match): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.ms !== b.ms) return a.ms < b.ms;
  return a.order < b.order;
}

/** Unions strictly overlapping masked regions (touching ones stay apart, so a cut between them changes nothing). */
export function mergeSpans(matches: readonly Match[]): Span[] {
  const sorted = [...matches].sort((a, b) => a.ms - b.ms || a.me - b.me);
  const spans: Span[] = [];
  let cur: { start: number; end: number; best: Match; members: Match[] } | undefined;
  const flush = (): void => {
    if (!cur) return;
    const seen = new Set<string>();
    const hits: Span['hits'] = [];
    for (const m of cur.members) {
      const key = labelOf(m);
      if (m.carried || seen.has(key)) continue;
      seen.add(key);
      hits.push({ type: m.type, ref: m.ref });
    }
    spans.push({ start: cur.start, end: cur.end, label: labelOf(cur.best), hits });
  };
  for (const m of sorted) {
    if (cur && m.ms < cur.end) {
      cur.end = Math.max(cur.end, m.me);
      cur.members.push(m);
      if (better(m, cur.best)) cur.best = m;
    } else {
      flush();
      cur = { start: m.ms, end: m.me, best: m, members: [m] };
    }
  }
  flush();
  return spans;
}

/** The replacement text of a span. */
export function tag(label: string): string {
  return `[REDACTED:${label}]`;
}

/** Renders s[from, to) with the spans (all inside it) replaced. */
export function render(s: string, spans: readonly Span[], from: number, to: number): string {
  if (spans.length === 0) return s.slice(from, to);
  const parts: string[] = [];
  let pos = from;
  for (const sp of spans) {
    parts.push(s.slice(pos, sp.start), tag(sp.label));
    pos = sp.end;
  }
  parts.push(s.slice(pos, to));
  return parts.join('');
}
