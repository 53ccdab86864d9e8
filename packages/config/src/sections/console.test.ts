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

const CONSOLE = 'console:\n  issuer: https://idp.example.com\n  clientId: agentgate\n  redirectUrl: https://gw.example.com/_agentgate/console/callback\n';

test('config console - absent by default; with issuer, client and callback it gets defaults', () => {
  assert.equal(loadConfig({ text: '', env: {} }).console, undefined);
  const c = loadConfig({ text: CONSOLE, env: {} }).console;
  assert.equal(c?.approverGroupsClaim, 'groups');
  assert.deepEqual(c?.scopes, ['openid', 'profile', 'email']);
  assert.equal(c?.sessionTtlMs, 8 * 3_600_000);
  assert.deepEqual(c?.identityClaims, { actor: 'preferred_username', user_login: 'preferred_username' });
});

test('config console - the callback path is fixed, secret refs must exist, unknown keys are named', () => {
  assert.ok(issuesOf(CONSOLE.replace('/_agentgate/console/callback', '/cb')).some((i) => i.startsWith('console.redirectUrl')));
  assert.ok(issuesOf(`${CONSOLE}  sessionSecretRef: nope\n`).some((i) => i.startsWith('console.sessionSecretRef') && i.includes('no configured secret')));
  assert.ok(issuesOf(`${CONSOLE}  clientSecretRef: nope\n`).some((i) => i.startsWith('console.clientSecretRef')));
  assert.ok(issuesOf(`${CONSOLE}  colour: blue\n`).some((i) => i.startsWith('console')));
  const ok = loadConfig({ text: `${CONSOLE}  sessionSecretRef: k\nsecrets:\n  - { ref: k, source: env, env: K }\n`, env: {} });
  assert.equal(ok.console?.sessionSecretRef, 'k');
});

test('config approvals.notify - webhooks need exactly one of url or urlRef, a known format and existing secrets', () => {
  const n = loadConfig({ text: '', env: {} }).approvals.notify;
  assert.deepEqual(n, { webhooks: [], timeoutMs: 5000, attempts: 5, backoffMs: 1000 });
  const one = loadConfig({ text: 'approvals:\n  notify:\n    webhooks:\n      - { group: rm, url: https://hooks.example.com/x }\n', env: {} }).approvals.notify
    .webhooks[0];
  assert.equal(one?.format, 'json');
  assert.ok(issuesOf('approvals:\n  notify:\n    webhooks:\n      - { group: rm }\n').some((i) => i.includes('exactly one of url or urlRef')));
  assert.ok(
    issuesOf('approvals:\n  notify:\n    webhooks:\n      - { group: rm, url: https://x.example, format: teams }\n').some((i) =>
      i.startsWith('approvals.notify.webhooks[0].format'),
    ),
  );
  assert.ok(
    issuesOf('approvals:\n  notify:\n    webhooks:\n      - { group: rm, urlRef: hook, secretRef: key }\n').some((i) =>
      i.startsWith('approvals.notify.webhooks[0].urlRef'),
    ),
  );
});
