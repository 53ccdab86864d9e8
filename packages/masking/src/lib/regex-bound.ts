/**
 * Static bound of a regex's reach, used for two guarantees:
 * - linear time: only bounded, non-nested quantifiers are accepted (no `*`,
 *   `+`, `{n,}`, no repeated group that itself repeats, no backreferences),
 *   so a match attempt at one position costs at most O(window) steps;
 * - streaming: whether a match starts at position p depends only on the text
 *   in [p - behind, p + window), which is what lets a stream hold back a
 *   bounded number of bytes and still equal the whole-text result.
 */
export interface RegexBound {
  /** Longest possible match. */
  readonly maxLength: number;
  /** Characters read from the match start on (match plus lookahead). */
  readonly window: number;
  /** Characters read before the match start (lookbehind, `\b`). */
  readonly behind: number;
}

interface Node {
  max: number;
  ahead: number;
  behind: number;
  repeats: boolean;
  /** An alternation with a branch longer than one character: repeating it can backtrack exponentially. */
  wideAlt?: boolean;
}

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(why: string): never {
    throw new Error(`${why} at offset ${this.pos}`);
  }

  alternation(): Node {
    const out: Node = { max: 0, ahead: 0, behind: 0, repeats: false };
    let branches = 0;
    let widest = 0;
    for (;;) {
      const seq = this.sequence();
      branches++;
      widest = Math.max(widest, seq.max);
      out.wideAlt = (branches > 1 && widest > 1) || out.wideAlt === true || seq.wideAlt === true;
      out.max = Math.max(out.max, seq.max);
      out.ahead = Math.max(out.ahead, seq.ahead);
      out.behind = Math.max(out.behind, seq.behind);
      out.repeats ||= seq.repeats;
      if (this.src[this.pos] !== '|') return out;
      this.pos++;
    }
  }

  sequence(): Node {
    const out: Node = { max: 0, ahead: 0, behind: 0, repeats: false };
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos];
      if (ch === '|' || ch === ')') break;
      const atom = this.quantified();
      out.max += atom.max;
      out.ahead = Math.max(out.ahead, atom.ahead);
      out.behind = Math.max(out.behind, atom.behind);
      out.repeats ||= atom.repeats;
      if (atom.wideAlt) out.wideAlt = true;
    }
    return out;
  }

  quantified(): Node {
    const start = this.pos;
    const { node, zeroWidth } = this.atom();
    const q = this.quantifier();
    if (!q) return node;
    if (zeroWidth) this.fail('quantified assertion');
    // A repeated group that itself repeats is the shape of catastrophic backtracking.
    if (q.max > 1 && node.repeats) this.fail(`nested quantifier (${this.src.slice(start, this.pos)})`);
    // (a|aa){1,30} splits a run in exponentially many ways; only single-character branches may repeat.
    if (q.max > 1 && node.wideAlt) this.fail(`repeated multi-character alternation (${this.src.slice(start, this.pos)})`);
    return { max: node.max * q.max, ahead: node.ahead, behind: node.behind, repeats: node.repeats || q.max > q.min, wideAlt: node.wideAlt };
  }

  quantifier(): { min: number; max: number } | undefined {
    const ch = this.src[this.pos];
    let q: { min: number; max: number } | undefined;
    if (ch === '*' || ch === '+') this.fail('unbounded quantifier');
    if (ch === '?') {
      this.pos++;
      q = { min: 0, max: 1 };
    } else if (ch === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
      if (!m) return undefined;
      if (m[2] !== undefined && m[3] === '') this.fail('unbounded quantifier');
      const min = Number(m[1]);
      const max = m[3] !== undefined ? Number(m[3]) : min;
      if (max < min) this.fail('bad quantifier');
      this.pos += m[0].length;
      q = { min, max };
    }
    if (q && this.src[this.pos] === '?') this.pos++; // lazy: same bound
    return q;
  }

  atom(): { node: Node; zeroWidth: boolean } {
    const ch = this.src[this.pos];
    const one = (): { node: Node; zeroWidth: boolean } => ({
      node: { max: 1, ahead: 0, behind: 0, repeats: false },
      zeroWidth: false,
    });
    if (ch === '\\') {
      const next = this.src[this.pos + 1];
      if (next === undefined) this.fail('trailing backslash');
      if (/[1-9]/.test(next) || next === 'k') this.fail('backreference');
      if (next === 'b' || next === 'B') {
        this.pos += 2;
        return { node: { max: 0, ahead: 1, behind: 1, repeats: false }, zeroWidth: true };
      }
      if (next === 'u') this.pos += 6;
      else if (next === 'x') this.pos += 4;
      else if (next === 'c') this.pos += 3;
      else this.pos += 2;
      return one();
    }
    if (ch === '[') {
      this.pos++;
      if (this.src[this.pos] === '^') this.pos++;
      if (this.src[this.pos] === ']') this.pos++;
      while (this.pos < this.src.length && this.src[this.pos] !== ']') {
        this.pos += this.src[this.pos] === '\\' ? 2 : 1;
      }
      if (this.src[this.pos] !== ']') this.fail('unterminated class');
      this.pos++;
      return one();
    }
    if (ch === '(') return this.group();
    if (ch === '^' || ch === '$') {
      this.pos++;
      return { node: { max: 0, ahead: 0, behind: 0, repeats: false }, zeroWidth: true };
    }
    if (ch === '*' || ch === '+' || ch === '?' || ch === '{') this.fail('quantifier without atom');
    this.pos++;
    return one();
  }

  group(): { node: Node; zeroWidth: boolean } {
    const rest = this.src.slice(this.pos, this.pos + 4);
    let kind: 'group' | 'ahead' | 'behind' = 'group';
    if (rest.startsWith('(?:')) this.pos += 3;
    else if (rest.startsWith('(?=') || rest.startsWith('(?!')) {
      kind = 'ahead';
      this.pos += 3;
    } else if (rest.startsWith('(?<=') || rest.startsWith('(?<!')) {
      kind = 'behind';
      this.pos += 4;
    } else if (rest.startsWith('(?<')) {
      const close = this.src.indexOf('>', this.pos);
      if (close < 0) this.fail('bad group name');
      this.pos = close + 1;
    } else if (rest.startsWith('(?')) this.fail('unsupported group');
    else this.pos += 1;
    const inner = this.alternation();
    if (this.src[this.pos] !== ')') this.fail('unterminated group');
    this.pos++;
    if (kind === 'ahead') {
      return { node: { max: 0, ahead: inner.max + inner.ahead, behind: inner.behind, repeats: false }, zeroWidth: true };
    }
    if (kind === 'behind') {
      return { node: { max: 0, ahead: inner.ahead, behind: inner.max + inner.behind, repeats: false }, zeroWidth: true };
    }
    return { node: inner, zeroWidth: false };
  }
}

/**
 * Computes the bound of a regex source, or throws (plain Error, message says
 * why and where) when the source has an unbounded or nested quantifier.
 */
export function regexBound(source: string): RegexBound {
  const p = new Parser(source);
  const node = p.alternation();
  if (p.pos !== source.length) p.fail('unbalanced parenthesis');
  return { maxLength: node.max, window: node.max + node.ahead, behind: node.behind };
}
