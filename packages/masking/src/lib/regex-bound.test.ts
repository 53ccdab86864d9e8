import assert from 'node:assert/strict';
import { test } from 'node:test';
import { regexBound } from './regex-bound.js';

test('regex-bound - sums bounded quantifiers, classes and escapes', () => {
  assert.deepEqual(regexBound('ab[cd]{2,5}\\.x?'), { maxLength: 9, window: 9, behind: 0 });
});

test('regex-bound - alternation takes the longest branch', () => {
  assert.equal(regexBound('(?:abc|d{10})e').maxLength, 11);
});

test('regex-bound - lookahead extends the window, lookbehind sets the context', () => {
  const b = regexBound('(?<![A-Z]{2})ab(?!cde)');
  assert.deepEqual(b, { maxLength: 2, window: 5, behind: 2 });
});

test('regex-bound - named groups count like groups', () => {
  assert.equal(regexBound('k=(?<s>[a-z]{1,8})').maxLength, 10);
});

test('regex-bound - rejects unbounded and nested quantifiers and backreferences', () => {
  for (const bad of ['a+', 'a*', 'a{2,}', '(?:a{1,3}){1,4}', '(?:a|aa){1,30}b', '(?:x(?:a|bc)){2,9}', '(a)\\1', '(?:ab', '(?=a)?']) {
    assert.throws(() => regexBound(bad), Error, bad);
  }
});

test('regex-bound - an optional group around a quantifier is allowed (not nested repetition)', () => {
  assert.equal(regexBound('(?:-[0-9]{1,2})?').maxLength, 3);
});

test('regex-bound - repeated single-character alternation is allowed (it cannot split a run two ways)', () => {
  assert.equal(regexBound('(?:[a-z]|-(?!-)){0,10}').maxLength, 10);
});
