import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '@agentgate/config';
import type { Principal } from '@agentgate/events';
import { checkFourEyes, identityOf } from './four-eyes.js';
import type { Requester } from './record.js';

const claims = loadConfig({ text: '{}', env: {} }).approvals.identityClaims;

function principal(provider: Principal['ci']['provider'], subject: string, sessionId: string, c: Record<string, unknown>): Principal {
  return { issuer: 'https://issuer.test', subject, groups: ['approvers'], claims: c, ci: { provider }, sessionId, expiresAt: 0 };
}

function requester(p: Principal): Requester {
  return { issuer: p.issuer, subject: p.subject, groups: p.groups, sessionId: p.sessionId, ci: p.ci, identity: identityOf(p, claims) };
}

test('four eyes - default identity claims per profile (GitHub actor/sub, GitLab user_login/user_id/sub)', () => {
  assert.deepEqual(identityOf(principal('github-actions', 'repo:a/b:ref:main', 's1', { actor: 'octocat', actor_id: '1' }), claims), {
    actor: 'octocat',
    sub: 'repo:a/b:ref:main',
  });
  assert.deepEqual(identityOf(principal('gitlab-ci', 'project_path:a/b', 's1', { user_login: 'alice', user_id: 7, user_email: 'x' }), claims), {
    user_login: 'alice',
    user_id: '7',
    sub: 'project_path:a/b',
  });
  assert.deepEqual(identityOf(principal('generic', 'svc', 's1', {}), claims), { sub: 'svc' });
});

test('four eyes - the same GitLab user with another token in another project is refused; another user is not', () => {
  const req = requester(principal('gitlab-ci', 'project_path:acme/app:ref:main', 'gl:1', { user_login: 'alice', user_id: '1' }));
  const sameUserOtherProject = principal('gitlab-ci', 'project_path:acme/ops:ref:main', 'gl:2', { user_login: 'alice', user_id: '1' });
  assert.throws(
    () => checkFourEyes(req, sameUserOtherProject, claims),
    (e: Error & { code?: string }) => e.code === 'ERR_SELF_APPROVAL' && /user_login/.test(e.message),
  );
  // A renamed login is still the same user_id.
  const renamed = principal('gitlab-ci', 'project_path:acme/ops:ref:main', 'gl:3', { user_login: 'alice2', user_id: '1' });
  assert.throws(() => checkFourEyes(req, renamed, claims), /same user_id/);
  const bob = principal('gitlab-ci', 'project_path:acme/ops:ref:main', 'gl:4', { user_login: 'bob', user_id: '2' });
  assert.doesNotThrow(() => checkFourEyes(req, bob, claims));
});

test('four eyes - same subject or same session is refused whatever the claims say', () => {
  const req = requester(principal('github-actions', 'repo:acme/app:ref:main', 'gh:1', { actor: 'a' }));
  assert.throws(() => checkFourEyes(req, principal('github-actions', 'repo:acme/app:ref:main', 'gh:2', { actor: 'b' }), claims), { code: 'ERR_SELF_APPROVAL' });
  assert.throws(() => checkFourEyes(req, principal('github-actions', 'repo:acme/ops:ref:main', 'gh:1', { actor: 'b' }), claims), { code: 'ERR_SELF_APPROVAL' });
  assert.doesNotThrow(() => checkFourEyes(req, principal('github-actions', 'repo:acme/ops:ref:main', 'gh:2', { actor: 'b' }), claims));
});
