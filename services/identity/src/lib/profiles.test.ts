import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profileFor } from './profiles.js';

const claims = { repository: 'acme/app', run_id: '11', run_attempt: '3', sub: 'repo:acme/app' };

test('profiles - github.com tokens get gh:<repository>:<run_id>:<run_attempt>', () => {
  const p = profileFor('github-actions');
  assert.equal(p.sessionId(claims, 'https://token.actions.githubusercontent.com', 't'), 'gh:acme/app:11:3');
});

test('profiles - a GitHub Enterprise issuer adds its host so sessions cannot collide with github.com', () => {
  const p = profileFor('github-actions');
  assert.equal(p.sessionId(claims, 'https://ghe.example.com/_services/token', 't'), 'gh:ghe.example.com/acme/app:11:3');
});

test('profiles - generic session falls back to a token hash without jti', () => {
  const p = profileFor('generic');
  const a = p.sessionId({ sub: 's' }, 'https://idp.example', 'token-a');
  const b = p.sessionId({ sub: 's' }, 'https://idp.example', 'token-b');
  assert.match(a, /^oidc:idp\.example:s:[A-Za-z0-9_-]{22}$/);
  assert.notEqual(a, b);
  assert.equal(p.sessionId({ sub: 's', jti: 'j1' }, 'https://idp.example', 'x'), 'oidc:idp.example:s:j1');
});
