/**
 * The "normalised view" of a text, where brokered values hide behind
 * encodings that no fixed variant list can enumerate:
 *
 * - JSON escapes are decoded: `\/`, `\"`, `\\`, `\b \f \n \r \t` and
 *   `\uXXXX` (surrogate pairs joined) — `\u002b` for `+`, or any character
 *   of a value written as `\uXXXX`, whatever the case of the hex digits;
 * - line breaks inside base64 are removed: a run of up to 4 blanks, a line
 *   break (`\n`, `\r\n`, or the JSON escapes `\n`, `\r\n`) and up to 16
 *   blanks of indentation, when at least {@link MIN_LINE} base64 characters
 *   come right before it and a base64 character right after it (PEM, MIME,
 *   the GitHub contents API wrap at 60–76 columns).
 *
 * Each such piece is a *unit*; everything else is copied. Whether a unit
 * starts at a position depends only on the original characters in
 * [p − {@link NORMALISE_BEHIND}, p + {@link MAX_UNIT} + 1), so the view is
 * local: a stream that never cuts inside a unit (units are returned so the
 * redactor can avoid it) sees the same units as the whole text.
 *
 * The view is only built around units (regions of `radius` characters on
 * either side), since a match that uses no unit is already found on the
 * original text.
 */

/** Base64 characters before a line break for it to count as wrapping (no real wrap width is narrower). */
export const MIN_LINE = 16;
const MAX_LEAD = 4;
const MAX_INDENT = 16;
/** Longest run of backslashes whose parity is examined; longer runs are taken literally. */
const MAX_BACKSLASHES = 16;
/** Longest break run: leading blanks, `\r\n` written as JSON escapes, indentation. */
export const MAX_RUN = MAX_LEAD + 4 + MAX_INDENT;
/** Longest unit of any kind (a surrogate pair `\uD83D\uDE00` is 12). */
export const MAX_UNIT = Math.max(MAX_RUN, 12);
/** Original characters a unit decision reads before its start. */
export const NORMALISE_BEHIND = Math.max(MIN_LINE + MAX_LEAD, MAX_BACKSLASHES);
/** Most original characters one view character can stand for (`\u0041` → `A`). */
export const MAX_EXPANSION = 6;

/** Upper bound of the original length of a view match of `n` characters. */
export function originalExtent(n: number): number {
  // Break runs sit between view characters, at least MIN_LINE plain characters apart.
  const runs = n <= 1 ? 0 : Math.floor((n - 1) / MIN_LINE) + 1;
  return MAX_EXPANSION * n + runs * MAX_RUN;
}

/** A unit of the original text [start, end) and what stands for it in the view. */
export interface Unit {
  start: number;
  end: number;
  repl: string;
}

function isB64(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 61 || c === 45 || c === 95;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * True when the backslash at i starts an escape: an even number (fewer than
 * MAX_BACKSLASHES) of backslashes right before it. `run` remembers where the
 * run of the previous call started, so a run is counted once.
 */
function escapeStart(s: string, i: number, floor: number, run: { at: number; start: number }): boolean {
  let start: number;
  if (run.at === i - 1 && run.at >= 0) start = run.start;
  else {
    start = i;
    while (start > floor && i - start < MAX_BACKSLASHES && s.charCodeAt(start - 1) === 92) start--;
  }
  run.at = i;
  run.start = start;
  const k = i - start;
  return k < MAX_BACKSLASHES && k % 2 === 0;
}

/** End of a break run starting at i, or -1. */
function breakRun(s: string, i: number, floor: number, to: number): number {
  // Nearest first: most lines end in a character that is not base64, which settles it at once.
  if (i - MIN_LINE < floor) return -1;
  for (let j = i - 1; j >= i - MIN_LINE; j--) if (!isB64(s.charCodeAt(j))) return -1;
  let j = i;
  for (let n = 0; n < MAX_LEAD && j < to && isBlank(s.charCodeAt(j)); n++) j++;
  if (s.startsWith('\r\n', j)) j += 2;
  else if (s.charCodeAt(j) === 10) j += 1;
  else if (s.startsWith('\\r\\n', j)) j += 4;
  else if (s.startsWith('\\n', j)) j += 2;
  else return -1;
  for (let n = 0; n < MAX_INDENT && j < to && isBlank(s.charCodeAt(j)); n++) j++;
  return j < to && isB64(s.charCodeAt(j)) ? j : -1;
}

const SIMPLE: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** The 4 hex digits at i as a number, or -1. */
function hex4(s: string, i: number): number {
  if (i + 4 > s.length) return -1;
  let v = 0;
  for (let j = i; j < i + 4; j++) {
    const d = hexDigit(s.charCodeAt(j));
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** The escape at i (a backslash known to start one), or undefined when it is none the view decodes. */
function escapeAt(s: string, i: number, to: number, mode: 'text' | 'bytes'): Unit | undefined {
  const next = s[i + 1];
  if (next === undefined || i + 1 >= to) return undefined;
  if (next !== 'u') {
    const repl = SIMPLE[next];
    return repl === undefined ? undefined : { start: i, end: i + 2, repl };
  }
  const u = hex4(s, i + 2);
  if (u < 0 || i + 6 > to) return undefined;
  let cp = u;
  let end = i + 6;
  if (u >= 0xd800 && u <= 0xdbff && s.startsWith('\\u', end) && end + 6 <= to) {
    const lo = hex4(s, end + 2);
    if (lo >= 0xdc00 && lo <= 0xdfff) {
      cp = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
      end += 6;
    }
  }
  const lone = cp >= 0xd800 && cp <= 0xdfff;
  if (mode === 'text') return { start: i, end, repl: String.fromCodePoint(lone ? u : cp) };
  // Bytes are viewed as latin1: a decoded character becomes its UTF-8 bytes; a lone surrogate has none.
  if (lone) return undefined;
  return { start: i, end, repl: Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1') };
}

/** Where a break run ending in the line break at i would start: back over an optional \r and up to MAX_LEAD blanks. */
function runStartBefore(s: string, i: number, from: number): number {
  let st = i;
  if (s.charCodeAt(i) === 10 && st > from && s.charCodeAt(st - 1) === 13) st--;
  for (let n = 0; n < MAX_LEAD && st > from && isBlank(s.charCodeAt(st - 1)); n++) st--;
  return st;
}

/**
 * Units of s[from, to), in order, never overlapping. Characters before
 * `from` (down to `floor`) are read as lookbehind only.
 */
export function findUnits(s: string, from: number, to: number, mode: 'text' | 'bytes', floor = 0): Unit[] {
  const out: Unit[] = [];
  let pos = from;
  // Anchors are backslashes (escapes, JSON-escaped line breaks) and line breaks, taken in order. A run
  // starts at most MAX_LEAD blanks and a \r before its anchor, and only blanks lie in between, so the
  // candidates come in order too.
  // Start of the backslash run the last anchor was in: a long run is counted once, not once per backslash.
  const runOf = { at: -1, start: -1 };
  let nb = s.indexOf('\\', from);
  let nn = s.indexOf('\n', from);
  if (nb >= to) nb = -1;
  if (nn >= to) nn = -1;
  while (nb >= 0 || nn >= 0) {
    const backslash = nn < 0 || (nb >= 0 && nb < nn);
    const p = backslash ? nb : nn;
    if (backslash) {
      nb = s.indexOf('\\', p + 1);
      if (nb >= to) nb = -1;
    } else {
      nn = s.indexOf('\n', p + 1);
      if (nn >= to) nn = -1;
    }
    if (p < pos) continue;
    // A break run wins over an escape at the same place: `\n` between base64 lines is a wrap, not a newline.
    // A backslash starts a run only as a JSON-escaped line break (`\n`, `\r\n`).
    const runnable = !backslash || s.charCodeAt(p + 1) === 110 || s.charCodeAt(p + 1) === 114;
    const st = runnable ? runStartBefore(s, p, pos) : p;
    const end = runnable ? breakRun(s, st, floor, to) : -1;
    if (end >= 0) {
      out.push({ start: st, end, repl: '' });
      pos = end;
    } else if (backslash && escapeStart(s, p, floor, runOf)) {
      const e = escapeAt(s, p, to, mode);
      if (e) {
        out.push(e);
        pos = e.end;
      }
    }
  }
  return out;
}

/** A region of the view: the view text and the map back to the original. */
export interface ViewRegion {
  readonly text: string;
  /** For each segment: view start, original start, original end; a unit segment is one entry. */
  readonly nStart: number[];
  readonly oStart: number[];
  readonly oEnd: number[];
  readonly isUnit: boolean[];
}

/** Builds the view of s[a, b) given the units inside it. */
export function buildRegion(s: string, a: number, b: number, units: readonly Unit[]): ViewRegion {
  const parts: string[] = [];
  const nStart: number[] = [];
  const oStart: number[] = [];
  const oEnd: number[] = [];
  const isUnit: boolean[] = [];
  let n = 0;
  let pos = a;
  const seg = (o0: number, o1: number, text: string, unit: boolean): void => {
    nStart.push(n);
    oStart.push(o0);
    oEnd.push(o1);
    isUnit.push(unit);
    parts.push(text);
    n += text.length;
  };
  for (const u of units) {
    if (u.start > pos) seg(pos, u.start, s.slice(pos, u.start), false);
    seg(u.start, u.end, u.repl, true);
    pos = u.end;
  }
  if (b > pos) seg(pos, b, s.slice(pos, b), false);
  return { text: parts.join(''), nStart, oStart, oEnd, isUnit };
}

function segmentOf(r: ViewRegion, n: number): number {
  let lo = 0;
  let hi = r.nStart.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (r.nStart[mid]! <= n) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Original [start, end) of the view range [ns, ne) (ne > ns); a partly covered unit counts whole. */
export function toOriginal(r: ViewRegion, ns: number, ne: number): [number, number] {
  const a = segmentOf(r, ns);
  const b = segmentOf(r, ne - 1);
  const start = r.isUnit[a] ? r.oStart[a]! : r.oStart[a]! + (ns - r.nStart[a]!);
  const end = r.isUnit[b] ? r.oEnd[b]! : r.oStart[b]! + (ne - r.nStart[b]!);
  return [start, end];
}

/** Characters never inside a unit: a gram of them reads the same in the view. */
function plainChar(c: number): boolean {
  return c !== 92 && c !== 10 && c !== 13 && c !== 32 && c !== 9;
}

/** Key of a gram: its characters folded to bytes (collisions only make the check weaker, never wrong). */
function gramKey(s: string, a: number, g: number, lead = -1): number {
  let key = lead >= 0 ? lead & 0xff : 0;
  for (let i = a; i < a + g - (lead >= 0 ? 1 : 0); i++) key = ((key << 8) | (s.charCodeAt(i) & 0xff)) >>> 0;
  return key;
}

/** Key of the gram of s[a, a + g - 1) followed by character `tail`. */
function gramKeyThen(s: string, a: number, g: number, tail: number): number {
  let key = 0;
  for (let i = a; i < a + g - 1; i++) key = ((key << 8) | (s.charCodeAt(i) & 0xff)) >>> 0;
  return ((key << 8) | (tail & 0xff)) >>> 0;
}

function plainRange(s: string, a: number, b: number): boolean {
  if (a < 0 || b > s.length) return false;
  for (let i = a; i < b; i++) if (!plainChar(s.charCodeAt(i))) return false;
  return true;
}

function backslashBefore(s: string, a: number, b: number): boolean {
  for (let i = Math.max(0, a); i < b; i++) if (s.charCodeAt(i) === 92) return true;
  return false;
}

/** A set of gram keys as a bit filter (false positives only make the check weaker), and the characters of the forms. */
export class GramFilter {
  private readonly bits = new Uint32Array(1 << 15);
  private readonly chars = new Uint8Array(1 << 16);
  addChars(form: string): void {
    for (let i = 0; i < form.length; i++) this.chars[form.charCodeAt(i)] = 1;
  }
  hasChar(c: number): boolean {
    return this.chars[c] === 1;
  }
  add(key: number): void {
    const b = Math.imul(key, 0x9e3779b1) >>> 12;
    this.bits[b >>> 5]! |= 1 << (b & 31);
  }
  has(key: number): boolean {
    const b = Math.imul(key, 0x9e3779b1) >>> 12;
    return (this.bits[b >>> 5]! & (1 << (b & 31))) !== 0;
  }
}

/**
 * Cheap necessary condition for a view match to use unit `u`: such a match
 * (at least 2g view characters long) has g characters on one side of the
 * unit, so one of the two g-grams next to it (including a one-character
 * escape's own decoded character) must occur in some normalised form.
 * Answers true whenever a gram cannot be read off the original text safely.
 */
export function unitMayMatch(s: string, u: Unit, grams: GramFilter, g: number): boolean {
  if (u.repl === '') {
    // A break run: the MIN_LINE characters before it are base64, so plain.
    if (grams.has(gramKey(s, u.start - g, g))) return true;
    return !plainRange(s, u.end, u.end + g) || grams.has(gramKey(s, u.end, g));
  }
  if (u.repl.length !== 1) return true;
  const c = u.repl.charCodeAt(0);
  // An escaped character no form contains (a quote, a backslash, a newline in base64) is in no match.
  if (!grams.hasChar(c)) return false;
  // No backslash in reach before: the characters left of the escape are not the tail of another one.
  const lf = u.start - (g - 1);
  if (!plainRange(s, lf, u.start) || backslashBefore(s, u.start - MAX_UNIT, lf) || grams.has(gramKeyThen(s, lf, g, c))) return true;
  return !plainRange(s, u.end, u.end + g - 1) || grams.has(gramKey(s, u.end, g, c));
}

/** The g-gram keys of the forms, for {@link unitMayMatch}. */
export function gramsOf(forms: Iterable<string>, g: number): GramFilter {
  const out = new GramFilter();
  for (const f of forms) {
    out.addChars(f);
    for (let i = 0; i + g <= f.length; i++) out.add(gramKey(f, i, g));
  }
  return out;
}
