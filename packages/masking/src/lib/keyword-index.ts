/**
 * Keyword prefilter: one Aho-Corasick pass over the text (ASCII
 * case-folded on the fly, no lowercased copy) tells which detectors have a
 * keyword in it; only those detectors' regexes run. Non-ASCII code units
 * reset the automaton, since every keyword is ASCII.
 */
export class KeywordIndex {
  private readonly goto: Int32Array;
  private readonly out: (readonly number[])[];
  /** 1 where a state emits: keeps the hot loop on typed arrays only. */
  private readonly emits: Uint8Array;
  readonly size: number;

  /** `keywords[i]` are the (lowercase ASCII) keywords of detector i. */
  constructor(keywords: readonly (readonly string[])[]) {
    this.size = keywords.length;
    const trie: number[][] = [new Array<number>(128).fill(-1)];
    const outSets: Set<number>[] = [new Set()];
    keywords.forEach((list, det) => {
      for (const kw of list) {
        let st = 0;
        for (let i = 0; i < kw.length; i++) {
          const c = kw.charCodeAt(i);
          const row = trie[st]!;
          if (row[c] === -1) {
            row[c] = trie.length;
            trie.push(new Array<number>(128).fill(-1));
            outSets.push(new Set());
          }
          st = row[c]!;
        }
        outSets[st]!.add(det);
      }
    });
    // Breadth-first failure links, folded into a dense goto table.
    const fail = new Array<number>(trie.length).fill(0);
    const queue: number[] = [];
    const root = trie[0]!;
    for (let c = 0; c < 128; c++) {
      if (root[c] === -1) root[c] = 0;
      else queue.push(root[c]!);
    }
    for (let qi = 0; qi < queue.length; qi++) {
      const st = queue[qi]!;
      const row = trie[st]!;
      for (const d of outSets[fail[st]!]!) outSets[st]!.add(d);
      for (let c = 0; c < 128; c++) {
        const nx = row[c]!;
        const viaFail = trie[fail[st]!]![c]!;
        if (nx === -1) row[c] = viaFail;
        else {
          fail[nx] = viaFail;
          queue.push(nx);
        }
      }
    }
    // Case folding lives in the table: an uppercase column copies its lowercase one.
    for (const row of trie) for (let c = 65; c <= 90; c++) row[c] = row[c | 32]!;
    this.goto = new Int32Array(trie.length * 128);
    trie.forEach((row, st) => {
      this.goto.set(row, st * 128);
    });
    this.out = outSets.map((s) => [...s]);
    this.emits = Uint8Array.from(outSets, (s) => (s.size > 0 ? 1 : 0));
  }

  /** Marks in `hits` (length = number of detectors) the detectors whose keyword occurs in s[from, to). */
  scan(s: string, from: number, to: number, hits: Uint8Array): void {
    const { goto, out, emits } = this;
    let remaining = this.size;
    let st = 0;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c >= 128) {
        st = 0;
        continue;
      }
      st = goto[(st << 7) | c]!;
      if (emits[st] === 1) {
        for (const d of out[st]!) {
          if (hits[d] === 0) {
            hits[d] = 1;
            if (--remaining === 0) return;
          }
        }
      }
    }
  }
}
