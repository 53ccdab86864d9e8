import { MaskingError } from '../errors.js';
import type { Finding, StreamRedactor } from '../types.js';
import { FindingTally } from './findings.js';
import type { Unit } from './normalise.js';
import { type Engine, findMatches, type Match, mergeSpans, render, undecidedFrom } from './scanner.js';

const EMPTY = new Uint8Array(0);

/** Bytes a stream may hold back: twice the engine window (see {@link ByteStreamRedactor}). */
export function maxHoldBackOf(engine: Engine): number {
  return 2 * Math.max(1, engine.window);
}

/**
 * Streaming redactor over raw bytes. Bytes are viewed as a latin1 string
 * (one char per byte, lossless), so a UTF-8 sequence split across chunks
 * is never decoded, and all patterns are ASCII, so matches are the same as
 * on the decoded text.
 *
 * Why it equals masking the whole input, for any chunking: a match
 * starting at p depends only on bytes [p - behind, p + W) (W = engine
 * window, enforced by regexBound, the variant lengths and the reach of the
 * normalised view). With L bytes pending, every match starting before
 * c0 = L - W is decided; the cut c is c0 moved left before any match, and
 * any unit of the normalised view (an escape, a base64 line break), that
 * straddles it. No match straddles c, so each matcher's left-to-right scan
 * is in the same state at c whether it started at 0 or at c; no unit
 * straddles c, so the view from c is the whole input's view from c; and
 * the emitted bytes [0, c) are rendered from exactly the matches the
 * whole-input scan finds there.
 *
 * Without detectors, c0 is instead the first position where an exact form
 * could start and run past the data (undecidedFrom): every match starting
 * before it is decided just the same, so the argument holds, and a slow
 * stream is not held back by the window.
 *
 * Hold-back bound: work is done once at least 2W bytes are pending
 * (amortising re-scans of the held bytes), and after each step at most 2W
 * bytes stay held. If a chain of overlapping matches would hold more, the
 * cut is forced at c0: everything up to c0 is emitted with the straddling
 * span masked up to c0, and its remainder is carried and masked in the
 * next step (fail closed; only then may the output differ from the
 * whole-input result, by masking more).
 */
export class ByteStreamRedactor implements StreamRedactor {
  private pending = '';
  /** Last bytes already emitted, as lookbehind context. */
  private context = '';
  private carry: Carry | undefined;
  private ended = false;
  private readonly tally = new FindingTally();
  private readonly window: number;
  private readonly holdBack: number;
  private readonly exactOnly: boolean;

  constructor(private readonly engine: Engine) {
    this.window = Math.max(1, engine.window);
    this.holdBack = maxHoldBackOf(engine);
    this.exactOnly = engine.set.detectors.length === 0;
  }

  push(chunk: Uint8Array): Uint8Array {
    if (this.ended) throw new MaskingError('ERR_MASKING_STREAM_ENDED', 'stream redactor already ended');
    if (chunk.length === 0) return EMPTY;
    this.pending += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    // Exact forms only: each step leaves just an undecided tail, so stepping on every chunk costs no rescans.
    if (!this.exactOnly && this.pending.length < this.holdBack) return EMPTY;
    return this.step(false);
  }

  end(): Uint8Array {
    if (this.ended) throw new MaskingError('ERR_MASKING_STREAM_ENDED', 'stream redactor already ended');
    this.ended = true;
    const out = this.step(true);
    this.pending = '';
    this.context = '';
    return out;
  }

  findings(): Finding[] {
    return this.tally.list();
  }

  private step(final: boolean): Uint8Array {
    const s = this.context + this.pending;
    const from = this.context.length;
    if (s.length === from) return EMPTY;
    const units: Unit[] = [];
    const matches = findMatches(this.engine, s, from, 'bytes', units);
    const carried = this.carry;
    if (carried) {
      const end = Math.min(s.length, from + carried.length);
      matches.push({ start: from, end, ms: from, me: end, priority: carried.priority, order: -2, type: carried.type, ref: carried.ref, carried: true });
    }
    let cut = s.length;
    let next: Carry | undefined;
    if (!final) {
      // Without detectors the cut is where an exact form could still be in progress (usually the end):
      // a slow stream is not held back by the window.
      const c0 = this.exactOnly ? undecidedFrom(this.engine, s, from, units) : s.length - this.window;
      cut = c0;
      // Descending starts: one pass finds the leftmost start of a chain straddling c0. Units of the
      // normalised view are never cut either: the next step must see each whole, as the whole input does.
      const byStart = [...matches].sort((a, b) => b.start - a.start);
      for (;;) {
        const before = cut;
        for (const m of byStart) if (m.start < cut && m.end > cut) cut = m.start;
        const u = unitAcross(units, cut);
        if (u) cut = u.start;
        if (cut === before) break;
      }
      if (s.length - cut > this.holdBack) {
        cut = c0;
        next = forcedCarry(matches, c0);
      }
    }
    if (carried && from + carried.length > cut) {
      const rest = from + carried.length - cut;
      next = next ? { ...next, length: Math.max(next.length, rest) } : { ...carried, length: rest };
    }
    this.carry = next;
    // Outside a forced cut no match straddles `cut`, so clipping only applies to the forced case.
    const emitted = matches.filter((m) => m.ms < cut).map((m) => (m.me > cut ? { ...m, me: cut } : m));
    const spans = mergeSpans(emitted);
    this.tally.addSpans(spans);
    const text = render(s, spans, from, cut);
    this.context = s.slice(Math.max(0, cut - this.engine.behind), cut);
    this.pending = s.slice(cut);
    return text.length === 0 ? EMPTY : Buffer.from(text, 'latin1');
  }
}

/** The unit (units are sorted and disjoint) with start < c < end, if any. */
function unitAcross(units: readonly Unit[], c: number): Unit | undefined {
  let lo = 0;
  let hi = units.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const u = units[mid]!;
    if (u.end <= c) lo = mid + 1;
    else if (u.start >= c) hi = mid - 1;
    else return u;
  }
  return undefined;
}

interface Carry {
  length: number;
  type: string;
  ref: string | undefined;
  priority: number;
}

/** What a forced cut at c0 must keep masking after it: the reach of every match that crosses c0. */
function forcedCarry(matches: readonly Match[], c0: number): Carry | undefined {
  let best: Match | undefined;
  let carryEnd = c0;
  for (const m of matches) {
    if (m.start < c0 && m.me > c0) {
      carryEnd = Math.max(carryEnd, m.me);
      if (!best || m.priority > best.priority) best = m;
    }
  }
  return best ? { length: carryEnd - c0, type: best.type, ref: best.ref, priority: best.priority } : undefined;
}
