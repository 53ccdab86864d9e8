import type { DetectorSet } from './compile-detectors.js';
import type { ExactSet, VariantMatcher } from './exact-set.js';
import type { LiteralSet } from './literal-set.js';
import { buildRegion, findUnits, MAX_UNIT, toOriginal, type Unit, unitMayMatch, type ViewRegion } from './normalise.js';

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

/**
 * A masked region: union of strictly overlapping matches, labelled by the
 * strongest. `hits` is that one finding (none when the strongest only
 * continues a span counted before a forced cut): overlapping matches are
 * one secret seen by several matchers (`token=ghp_…` is a GitHub token and
 * a generic assignment), so it is counted once.
 */
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
 *
 * `units`, when given, receives the units of the normalised view (see
 * normalise.ts): a stream must not cut inside one.
 */
export function findMatches(engine: Engine, s: string, from: number, mode: 'text' | 'bytes', units?: Unit[]): Match[] {
  const out: Match[] = [];
  const { detectors, index, validateOptions } = engine.set;
  const hits = new Uint8Array(detectors.length);
  if (detectors.length > 0) index.scan(s, from, s.length, hits);
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
  const lits = mode === 'text' ? engine.exact.text : engine.exact.bytes;
  if (lits) {
    const refs = mode === 'text' ? engine.exact.refText : engine.exact.refBytes;
    lits.scan(s, from, s.length, (start, lit) => {
      const end = start + lit.length;
      out.push({ start, end, ms: start, me: end, priority: EXACT_PRIORITY, order: -1, type: 'secret', ref: refs.get(lit) });
      return true;
    });
  }
  if (engine.exact.normalised) findNormalised(engine, engine.exact.normalised, s, from, mode, out, units);
  return out;
}

/**
 * The brokered values hidden behind JSON escapes or base64 line wrapping:
 * matched on the normalised view, built only around its units (a match
 * that uses no unit is found on the text itself, so it is skipped here like
 * a validator rejection: the scan resumes one position later).
 */
function findNormalised(
  engine: Engine,
  nm: NonNullable<ExactSet['normalised']>,
  s: string,
  from: number,
  mode: 'text' | 'bytes',
  out: Match[],
  sink?: Unit[],
): void {
  const lits = mode === 'text' ? nm.text : nm.bytes;
  if (!lits) return;
  const units = findUnits(s, from, s.length, mode);
  if (units.length === 0) return;
  if (sink) for (const u of units) sink.push(u);
  const refs = mode === 'text' ? nm.refText : nm.refBytes;
  const grams = mode === 'text' ? nm.grams.text : nm.grams.bytes;
  // Only units some form could run through need a region (most line breaks in ordinary text do not).
  const used = units.filter((u) => unitMayMatch(s, u, grams, nm.grams.g));
  const reach = engine.exact.normalisedReach;
  for (let i = 0, k = 0; i < used.length; ) {
    // A match using unit u lies within reach of it: regions around units, merged when they overlap.
    const a = Math.max(from, used[i]!.start - reach);
    let b = Math.min(s.length, used[i]!.end + reach);
    let j = i + 1;
    while (j < used.length && used[j]!.start - reach <= b) b = Math.min(s.length, used[j++]!.end + reach);
    // The view of the region holds every unit inside it, used or not; one cut by an end widens it.
    while (k < units.length && units[k]!.end <= a) k++;
    let e = k;
    while (e < units.length && units[e]!.start < b) e++;
    const inside = units.slice(k, e);
    const ra = inside.length > 0 ? Math.min(a, inside[0]!.start) : a;
    const rb = inside.length > 0 ? Math.max(b, inside[inside.length - 1]!.end) : b;
    scanRegion(buildRegion(s, ra, rb, inside), lits, refs, out);
    i = j;
  }
}

function scanRegion(r: ViewRegion, lits: LiteralSet, refs: ReadonlyMap<string, string>, out: Match[]): void {
  lits.scan(r.text, 0, r.text.length, (ns, lit) => {
    const ne = ns + lit.length;
    const [start, end] = toOriginal(r, ns, ne);
    // Units always shrink, so an unchanged length means no unit was used: rejected (found on the text itself).
    if (end - start === ne - ns) return false;
    out.push({ start, end, ms: start, me: end, priority: EXACT_PRIORITY, order: -1, type: 'secret', ref: refs.get(lit) });
    return true;
  });
}

/**
 * For an engine without detectors: the first position at or after `from`
 * where an exact form (plain, or on the normalised view) could start and
 * run past the end of `s`, so that more bytes could still complete it; the
 * bytes before it are decided whatever comes next. `units` are the
 * normalised view's units of s[from, end) (from findMatches). The last
 * MAX_UNIT + 1 bytes count as undecided when there are secrets: they may
 * belong to an escape or a line break that is not complete yet.
 */
export function undecidedFrom(engine: Engine, s: string, from: number, units: readonly Unit[]): number {
  let cut = engine.exact.bytes ? engine.exact.bytes.partialFrom(s, from, s.length) : s.length;
  const nm = engine.exact.normalised;
  if (!nm?.bytes) return cut;
  const z = Math.max(from, s.length - (MAX_UNIT + 1));
  cut = Math.min(cut, z);
  // A view match starting before a cannot reach z (the reach bounds its original extent).
  let a = Math.max(from, z - engine.exact.normalisedReach);
  const across = (c: number): Unit | undefined => units.find((u) => u.start < c && u.end > c);
  a = across(a)?.start ?? a;
  const b = across(z)?.start ?? z;
  if (b <= a) return cut;
  const region = buildRegion(
    s,
    a,
    b,
    units.filter((u) => u.start >= a && u.end <= b),
  );
  const p = nm.bytes.partialFrom(region.text, 0, region.text.length);
  return p < region.text.length ? Math.min(cut, toOriginal(region, p, p + 1)[0]) : cut;
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
  let cur: { start: number; end: number; best: Match } | undefined;
  const flush = (): void => {
    if (!cur) return;
    const b = cur.best;
    spans.push({ start: cur.start, end: cur.end, label: labelOf(b), hits: b.carried ? [] : [{ type: b.type, ref: b.ref }] });
  };
  for (const m of sorted) {
    if (cur && m.ms < cur.end) {
      cur.end = Math.max(cur.end, m.me);
      if (better(m, cur.best)) cur.best = m;
    } else {
      flush();
      cur = { start: m.ms, end: m.me, best: m };
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
