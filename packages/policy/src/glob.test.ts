import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileGlob, compileGlobs } from './glob.js';

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

test('glob - path dialect: * stays in a segment, ** crosses them, everything else is literal', () => {
  const m = compileGlobs(['refs/heads/main', 'refs/heads/release/*', 'refs/tags/**'], { dialect: 'path' });
  assert.equal(m('refs/heads/main'), true);
  assert.equal(m('refs/heads/main2'), false);
  assert.equal(m('refs/heads/release/1.x'), true);
  assert.equal(m('refs/heads/release/1.x/hotfix'), false);
  assert.equal(m('refs/tags/v1/rc/2'), true);
  assert.equal(compileGlob('refs/heads/a.b', { dialect: 'path' })('refs/heads/aXb'), false, 'dots are literal');
  assert.equal(compileGlob('refs/heads/(x)?', { dialect: 'path' })('refs/heads/(x)?'), true, 'regex metacharacters are literal');
  assert.equal(compileGlob('refs/heads/(x)?', { dialect: 'path' })('refs/heads/x'), false);
  assert.equal(compileGlobs([], { dialect: 'path' })('refs/heads/main'), false, 'no globs match nothing');
});

test('glob - path dialect: a lone star is one segment (namespaces have none), not every value', () => {
  const ns = compileGlobs(['prod', 'prod-*', 'kube-*'], { dialect: 'path' });
  assert.equal(ns('prod'), true);
  assert.equal(ns('prod-eu'), true);
  assert.equal(ns('kube-system'), true);
  assert.equal(ns('production'), false);
  assert.equal(ns('dev'), false);
  assert.equal(compileGlob('*', { dialect: 'path' })('refs/heads/main'), false);
  assert.equal(compileGlob('*', { dialect: 'path' })('anything'), true);
});

test('glob - the kind dialect is the default and refuses what the path dialect takes literally', () => {
  assert.equal(typeof compileGlob('refs/tags/**'), 'string');
  assert.equal(typeof compileGlob('refs/tags/**', { dialect: 'kind' }), 'string');
  assert.equal(typeof compileGlob('refs/tags/**', { dialect: 'path' }), 'function');
});
