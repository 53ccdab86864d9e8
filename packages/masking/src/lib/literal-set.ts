/**
 * Multi-literal matcher for the exact forms of brokered secrets (Wu-Manber):
 * with K the shortest literal's length, a table gives for the last two
 * characters of a K-character window how far the window may move without
 * passing the start of any literal; only where that is 0 does a hash of the
 * window select the few literals to compare. Ordinary text moves several
 * characters per step. A regex alternation of the same literals costs far
 * more once there are hundreds of them (every secret has ~40 forms, and V8
 * stops compiling large patterns to native code).
 *
 * Semantics are those of a global regex alternation sorted longest first:
 * scanning left to right, the earliest start wins, and at that start the
 * longest literal; the scan resumes at its end, or one position later when
 * the caller rejects the match.
 */

const BASE = 0x01000193;

/** Polynomial hash of s[i, i + k). */
function hashAt(s: string, i: number, k: number): number {
  let h = 0;
  for (let j = 0; j < k; j++) h = (Math.imul(h, BASE) + s.charCodeAt(i + j)) | 0;
  return h;
}

/** Two characters folded to bytes: collisions only make shifts shorter, never wrong. */
function pair(s: string, i: number): number {
  return ((s.charCodeAt(i) & 0xff) << 8) | (s.charCodeAt(i + 1) & 0xff);
}

export class LiteralSet {
  /** Literals by hash of their first K characters, longest first. */
  private readonly byPrefix = new Map<number, string[]>();
  /** Safe move of a K-window ending in this pair (K − 1 when the pair is in no literal's first K). */
  private readonly shift = new Uint8Array(1 << 16);
  private readonly k: number;
  readonly maxLength: number;

  /** The literals' distinct first K characters, for partial matches shorter than K. */
  private readonly heads: string[];

  /** `literals` must be non-empty, each at least 2 characters. */
  constructor(literals: Iterable<string>) {
    const list = [...new Set(literals)];
    const k = Math.min(8, ...list.map((l) => l.length));
    this.k = k;
    this.heads = [...new Set(list.map((l) => l.slice(0, k)))];
    this.maxLength = Math.max(...list.map((l) => l.length));
    this.shift.fill(k - 1);
    for (const lit of list) {
      for (let j = 0; j + 1 < k; j++) {
        const p = pair(lit, j);
        this.shift[p] = Math.min(this.shift[p]!, k - 2 - j);
      }
      const h = hashAt(lit, 0, k);
      const bucket = this.byPrefix.get(h);
      if (bucket) bucket.push(lit);
      else this.byPrefix.set(h, [lit]);
    }
    for (const bucket of this.byPrefix.values()) bucket.sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  }

  /**
   * Scans s[from, to): calls `visit(start, literal)` for each match taken;
   * `visit` returns false to reject it (the scan then goes on at start + 1).
   */
  scan(s: string, from: number, to: number, visit: (start: number, literal: string) => boolean): void {
    const { k, shift, byPrefix } = this;
    const last = to - k;
    for (let i = from; i <= last; ) {
      const sh = shift[pair(s, i + k - 2)]!;
      if (sh > 0) {
        i += sh;
        continue;
      }
      const bucket = byPrefix.get(hashAt(s, i, k));
      if (bucket) {
        let taken = -1;
        for (const lit of bucket) {
          // The last character first: a run of one character (the worst case) fails there at once.
          const end = i + lit.length;
          if (end <= to && s.charCodeAt(end - 1) === lit.charCodeAt(lit.length - 1) && s.startsWith(lit, i)) {
            if (visit(i, lit)) taken = end;
            break;
          }
        }
        if (taken >= 0) {
          i = taken;
          continue;
        }
      }
      i++;
    }
  }

  /**
   * The first position i in [from, to) where some literal longer than
   * to − i starts with s[i, to): a match that more text could still
   * complete. `to` when there is none.
   */
  partialFrom(s: string, from: number, to: number): number {
    for (let i = Math.max(from, to - this.maxLength + 1); i < to; i++) {
      const avail = to - i;
      if (avail >= this.k) {
        const bucket = this.byPrefix.get(hashAt(s, i, this.k));
        if (bucket?.some((l) => l.length > avail && s.startsWith(l.slice(0, avail), i))) return i;
      } else if (this.heads.some((h) => s.startsWith(h.slice(0, avail), i))) return i;
    }
    return to;
  }
}
