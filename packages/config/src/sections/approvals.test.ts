import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../index.js';

function issuesOf(text: string): string[] {
  try {
    loadConfig({ text, env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected ERR_CONFIG_INVALID');
}

test('config approvals - defaults: 1 MiB held bodies, 64 KiB in memory, 20 pending per principal, identity claims per profile', () => {
  const a = loadConfig({ text: '', env: {} }).approvals;
  assert.equal(a.maxBodyBytes, 1024 * 1024);
  assert.equal(a.spoolMemoryBytes, 64 * 1024);
  assert.equal(a.maxPendingPerPrincipal, 20);
  assert.deepEqual(a.identityClaims, { 'github-actions': ['actor', 'sub'], 'gitlab-ci': ['user_login', 'user_id', 'sub'], generic: ['sub'] });
});

test('config approvals - one profile can be overridden, the others keep their defaults', () => {
  const a = loadConfig({ text: 'approvals:\n  identityClaims:\n    github-actions: [actor_id]\n', env: {} }).approvals;
  assert.deepEqual(a.identityClaims['github-actions'], ['actor_id']);
  assert.deepEqual(a.identityClaims['gitlab-ci'], ['user_login', 'user_id', 'sub']);
});

test('config approvals - bad values and unknown keys name the key', () => {
  assert.ok(issuesOf('approvals:\n  maxBodyBytes: 0\n').some((i) => i.startsWith('approvals.maxBodyBytes')));
  assert.ok(issuesOf('approvals:\n  maxPendingPerPrincipal: -1\n').some((i) => i.startsWith('approvals.maxPendingPerPrincipal')));
  assert.ok(issuesOf('approvals:\n  identityClaims:\n    gitlab-ci: []\n').some((i) => i.startsWith('approvals.identityClaims.gitlab-ci')));
  assert.ok(issuesOf('approvals:\n  identityClaims:\n    bitbucket: [x]\n').some((i) => i.includes('identityClaims')));
  assert.ok(issuesOf('approvals:\n  maxBody: 10\n').some((i) => i.includes('approvals')));
});
