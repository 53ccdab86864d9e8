import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyRef, overallKind } from './classify-refs.js';
import { protectedMatcher } from './receive-pack.js';
import type { Quarantine } from './quarantine.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);

function q(ancestor: boolean): Quarantine & { asked: number } {
  return {
    asked: 0,
    async isAncestor() {
      this.asked++;
      return ancestor;
    },
    async countNewCommits() {
      return 0;
    },
  };
}

test('git refs - kinds follow the ref type, zero ids and ancestry', async () => {
  const none = () => false;
  assert.equal((await classifyRef({ old: Z, new: B, ref: 'refs/heads/x' }, q(false), none)).kind, 'git.create_ref');
  assert.equal((await classifyRef({ old: A, new: Z, ref: 'refs/heads/x' }, q(false), none)).kind, 'git.delete_ref');
  const ff = await classifyRef({ old: A, new: B, ref: 'refs/heads/x' }, q(true), none);
  assert.deepEqual([ff.kind, ff.fastForward], ['git.push', true]);
  const force = await classifyRef({ old: A, new: B, ref: 'refs/heads/x' }, q(false), none);
  assert.deepEqual([force.kind, force.fastForward], ['git.force_push', false]);
  assert.equal((await classifyRef({ old: Z, new: B, ref: 'refs/tags/v1' }, q(true), none)).kind, 'git.tag_create');
  assert.equal((await classifyRef({ old: A, new: Z, ref: 'refs/tags/v1' }, q(true), none)).kind, 'git.tag_delete');
  // A tag moved forward along history is still a move: ancestry is not even asked.
  const tq = q(true);
  assert.equal((await classifyRef({ old: A, new: B, ref: 'refs/tags/v1' }, tq, none)).kind, 'git.tag_move');
  assert.equal(tq.asked, 0);
  const other = await classifyRef({ old: A, new: B, ref: 'refs/notes/commits' }, q(false), none);
  assert.deepEqual([other.kind, other.refType], ['git.force_push', 'other']);
});

test('git refs - protected globs: * stays in a segment, ** crosses them', () => {
  const conn = (protectedRefs: string[]) =>
    ({ name: 'g', type: 'git', upstream: 'http://git.test', options: { protectedRefs } }) as unknown as Parameters<typeof protectedMatcher>[0];
  const m = protectedMatcher(conn(['refs/heads/main', 'refs/heads/release/*', 'refs/tags/**']));
  assert.equal(m('refs/heads/main'), true);
  assert.equal(m('refs/heads/main2'), false);
  assert.equal(m('refs/heads/release/1.x'), true);
  assert.equal(m('refs/heads/release/1.x/hotfix'), false);
  assert.equal(m('refs/tags/v1/rc/2'), true);
  assert.equal(protectedMatcher(conn(['refs/heads/a.b']))('refs/heads/aXb'), false, 'dots are literal');
});

test('git refs - the kind of a whole push is its most destructive update', () => {
  const r = (kind: Parameters<typeof overallKind>[0][number]['kind']) => ({ kind }) as Parameters<typeof overallKind>[0][number];
  assert.equal(overallKind([r('git.push'), r('git.create_ref')]), 'git.create_ref');
  assert.equal(overallKind([r('git.push'), r('git.force_push'), r('git.delete_ref')]), 'git.force_push');
  assert.equal(overallKind([r('git.tag_create'), r('git.tag_move')]), 'git.tag_move');
});
