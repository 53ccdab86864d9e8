import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileGlob } from './glob.js';

function m(glob: string) {
  const g = compileGlob(glob);
  assert.equal(typeof g, 'function', `glob ${glob} compiles`);
  return g as (k: string) => boolean;
}

test('glob - exact kinds match only themselves', () => {
  assert.equal(m('git.push')('git.push'), true);
  assert.equal(m('git.push')('git.force_push'), false);
  assert.equal(m('git.push')('git.pushx'), false);
});

test('glob - a star stays within one segment', () => {
  assert.equal(m('http.*')('http.get'), true);
  assert.equal(m('http.*')('http'), false);
  assert.equal(m('http.*')('https.get'), false);
  assert.equal(m('git.*_ref')('git.delete_ref'), true);
  assert.equal(m('git.*_ref')('git.push'), false);
  assert.equal(m('*.delete')('kubernetes.delete'), true);
  assert.equal(m('*.delete')('kubernetes.pods.delete'), false);
});

test('glob - a lone star matches every kind', () => {
  assert.equal(m('*')('http.get'), true);
  assert.equal(m('*')('kubernetes.delete'), true);
});

test('glob - regex metacharacters are literal or refused', () => {
  for (const bad of ['git.?ush', 'git.[pf]ush', 'git.{push,fetch}', 'git.**', 'git..push', '.git', 'git.', 'git push', 'http.(get)']) {
    assert.equal(typeof compileGlob(bad), 'string', `${bad} is refused`);
  }
});
