import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredExchange } from './exchange-store.js';
import { argumentText, pickLink, satisfies, signatureOf } from './match.js';

const call = (id: string, command: string) => ({ id, name: 'bash', arguments: JSON.stringify({ command }) });
const ex = (id: string, at: number, ...calls: ReturnType<typeof call>[]): StoredExchange => ({ id, at, toolCalls: calls });
const force = { kind: 'git.force_push', attributes: {}, refs: [{ ref: 'refs/heads/main', kind: 'force-push' }] };
const push = { kind: 'git.push', attributes: {}, refs: [{ ref: 'refs/heads/main', kind: 'fast-forward' }] };

test('match - git.force_push of main matches force-push commands only', () => {
  const sig = signatureOf(force);
  assert.ok(sig);
  for (const c of [
    'git push --force origin main',
    'git push -f origin main',
    'git push origin +main',
    'cd repo && git push --force-with-lease origin HEAD:refs/heads/main',
  ]) {
    assert.ok(satisfies(sig, argumentText(JSON.stringify({ command: c }))), c);
  }
  for (const c of ['git push origin main', 'git push --force origin develop', 'rm -rf main && git push origin main', 'git push --force origin maintenance']) {
    assert.ok(!satisfies(sig, argumentText(JSON.stringify({ command: c }))), c);
  }
});

test('match - a plain push does not match a command that force-pushes the same branch', () => {
  const sig = signatureOf(push);
  assert.ok(sig);
  assert.ok(satisfies(sig, 'git push origin main'));
  assert.ok(!satisfies(sig, 'git push --force origin main'));
  assert.ok(!satisfies(sig, 'git push origin :main'));
});

test('match - the proposing exchange wins over later ones; else the latest exchange; else none', () => {
  const session = [
    ex('ex1', 1000, call('c1', 'git push --force origin main')),
    ex('ex2', 2000, call('c2', 'git push origin main')),
    ex('ex3', 3000, call('c3', 'npm test')),
  ];
  assert.deepEqual(pickLink(session, force), { exchange_id: 'ex1', tool_call_id: 'c1', rule: 'tool-call-match' });
  assert.deepEqual(pickLink(session, push), { exchange_id: 'ex2', tool_call_id: 'c2', rule: 'tool-call-match' });
  const tag = { kind: 'git.tag_delete', attributes: {}, refs: [{ ref: 'refs/tags/v1', kind: 'tag-delete' }] };
  assert.deepEqual(pickLink(session, tag), { exchange_id: 'ex3', rule: 'latest-exchange' });
  assert.equal(pickLink([], force), undefined);
});

test('match - the newest matching exchange wins when several proposed the action', () => {
  const session = [ex('old', 1, call('a', 'git push -f origin main')), ex('new', 2, call('b', 'git push --force origin main')), ex('later', 3)];
  assert.equal(pickLink(session, force)?.exchange_id, 'new');
});

test('match - arguments that are not JSON are searched as text; http and other kinds have signatures', () => {
  assert.equal(argumentText('git push -f origin main'), 'git push -f origin main');
  const http = signatureOf({ kind: 'http.post', attributes: { path: '/v1/deployments' }, refs: [] });
  assert.ok(http && satisfies(http, 'curl -x post https://x/v1/deployments'));
  assert.equal(signatureOf({ kind: 'http.get', attributes: { path: '/a/v1' }, refs: [] }), undefined);
  const del = signatureOf({ kind: 'git.delete_ref', attributes: {}, refs: [{ ref: 'refs/heads/feature/x', kind: 'delete' }] });
  assert.ok(del && satisfies(del, 'git push origin --delete feature/x'));
  assert.ok(del && satisfies(del, 'git push origin :feature/x'));
  assert.ok(del && !satisfies(del, 'git push origin feature/x'));
});
