import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LiteralSet } from './literal-set.js';

/** What a global regex alternation of the literals, longest first, finds (rejecting where `reject` says). */
function viaRegex(literals: string[], text: string, reject: (start: number) => boolean): Array<[number, string]> {
  const sorted = [...new Set(literals)].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  const re = new RegExp(sorted.map((l) => l.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')).join('|'), 'g');
  const out: Array<[number, string]> = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (reject(m.index)) {
      re.lastIndex = m.index + 1;
      continue;
    }
    out.push([m.index, m[0]]);
  }
  return out;
}

function viaSet(literals: string[], text: string, reject: (start: number) => boolean): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  new LiteralSet(literals).scan(text, 0, text.length, (start, lit) => {
    if (reject(start)) return false;
    out.push([start, lit]);
    return true;
  });
  return out;
}

test('literal set - finds what a longest-first regex alternation finds, with and without rejections', () => {
  // A small alphabet makes overlaps, shared prefixes and near misses common.
  const lit = fc.stringMatching(/^[abcAB+/\\é]{2,14}$/);
  fc.assert(
    fc.property(
      fc.array(lit, { minLength: 1, maxLength: 12 }),
      fc.stringMatching(/^[abcAB+/\\é x]{0,300}$/),
      fc.integer({ min: 2, max: 5 }),
      (lits, text, mod) => {
        const none = (): boolean => false;
        assert.deepEqual(viaSet(lits, text, none), viaRegex(lits, text, none));
        const some = (start: number): boolean => start % mod === 0;
        assert.deepEqual(viaSet(lits, text, some), viaRegex(lits, text, some));
      },
    ),
    { numRuns: 500 },
  );
});

test('literal set - literals planted in long filler are all found, at the ends too', () => {
  const lits = ['QUJDREVGR0g', 'QUJDREVGR0hJSktM', 'dG9rXw', 'tok_abc+/=:'];
  const filler = 'x'.repeat(1000);
  const text = `tok_abc+/=:${filler}QUJDREVGR0hJSktM${filler}dG9rXw${filler}QUJDREVGR0g`;
  assert.deepEqual(
    viaSet(lits, text, () => false).map(([, l]) => l),
    ['tok_abc+/=:', 'QUJDREVGR0hJSktM', 'dG9rXw', 'QUJDREVGR0g'],
  );
});
