import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSubject } from './subject.js';

/** The token rule as first written (split, a regex per token): the one-pass path must agree with it. */
function referenceValid(subject: string, pattern: boolean): boolean {
  if (subject.length === 0 || subject.length > 1024) return false;
  const tokens = subject.split('.');
  return tokens.every((t, i) => (pattern && t === '*') || (pattern && t === '>' && i === tokens.length - 1) || /^[^\s.*>]+$/.test(t));
}

function valid(subject: string, pattern: boolean): boolean {
  try {
    checkSubject(subject, pattern);
    return true;
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'ERR_BUS_BAD_SUBJECT');
    return false;
  }
}

test('subject - the check accepts and refuses exactly what the token rule does (ASCII, whitespace, wildcards, empty tokens, non-ASCII)', () => {
  const samples = [
    'audit.raw.gh~3Aocto',
    'a',
    'a.',
    '.a',
    'a..b',
    'a b',
    'a\tb',
    'a\u0001b',
    'a*',
    'a.*',
    'a.>',
    'a.>.b',
    'é.ü',
    'a\u00a0b',
    'a\u2028',
    '~',
    'x'.repeat(1025),
  ];
  let seed = 11;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const alphabet = 'ab.~-_*> \t\u0001\u007f\u00a0é\u3000';
  for (let n = 0; n < 2000; n++) samples.push(Array.from({ length: 1 + (next() % 12) }, () => alphabet[next() % alphabet.length]).join(''));
  for (const s of samples) {
    assert.equal(valid(s, false), referenceValid(s, false), JSON.stringify(s));
    assert.equal(valid(s, true), referenceValid(s, true), `${JSON.stringify(s)} as a pattern`);
  }
});
