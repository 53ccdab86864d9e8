import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '@agentgate/config';
import type { Connection } from '../adapters/types.js';
import { ProxyError } from '../errors.js';
import type { Lease } from '../lib/ports.js';
import { responseMaskers } from './response-masker.js';

const config = loadConfig({
  text: `
identity:
  issuers: [{ name: gh, issuer: https://token.actions.githubusercontent.com, audiences: [x], profile: github-actions }]
connections:
  - { name: all, type: http, upstream: https://x.test }
  - { name: brok, type: http, upstream: https://x.test, maskResponses: brokered }
  - { name: cred, type: http, upstream: https://x.test, maskResponses: credential }
`,
  env: {},
});
const conn = (name: string): Connection => config.connections.find((c) => c.name === name)!;
const lease = (value: string): Lease => ({ ref: 'api-token', value, inject: { type: 'bearer' }, expiresAt: Date.now() + 60_000 });
const other = 'other-brokered-value-123';
const ghp = `ghp_${'aB3dE6gH9j'.repeat(4).slice(0, 36)}`;

test('response masker - all: detectors, brokered secrets and the credential (also one newer than the masklist)', async () => {
  const rm = responseMaskers(config, async () => ({ secrets: [{ ref: 'other', value: other }], version: 1 }));
  const m = await rm(conn('all'), lease('rotated-credential-456'));
  assert.ok(m);
  assert.equal(m.maskText(`${other} ${ghp} rotated-credential-456`).text, '[REDACTED:secret:other] [REDACTED:github-token] [REDACTED:secret:api-token]');
  assert.equal(await rm(conn('all'), lease('rotated-credential-456')), m, 'compiled once per masklist version and credential');
});

test('response masker - brokered: no detectors; credential: the credential only, and nothing without one', async () => {
  const rm = responseMaskers(config, async () => ({ secrets: [{ ref: 'other', value: other }], version: 1 }));
  const b = await rm(conn('brok'), undefined);
  assert.equal(b?.maskText(`${other} ${ghp}`).text, `[REDACTED:secret:other] ${ghp}`);
  const c = await rm(conn('cred'), lease('the-credential-789'));
  assert.equal(c?.maskText(`${other} the-credential-789`).text, `${other} [REDACTED:secret:api-token]`);
  assert.equal(await rm(conn('cred'), undefined), undefined);
});

test('response masker - without the masklist, all and brokered fail closed with ERR_MASKLIST_UNAVAILABLE; credential does not need it', async () => {
  const rm = responseMaskers(config, async () => {
    throw new Error('broker down');
  });
  for (const name of ['all', 'brok']) {
    await assert.rejects(
      rm(conn(name), lease('the-credential-789')),
      (err: unknown) => err instanceof ProxyError && err.code === 'ERR_MASKLIST_UNAVAILABLE' && err.status === 503,
    );
  }
  assert.ok(await rm(conn('cred'), lease('the-credential-789')));
});

test('response masker - defaults by type: http, llm and mcp mask everything; git, registry and kubernetes the credential only', () => {
  const typed = loadConfig({
    text: `
identity:
  issuers: [{ name: gh, issuer: https://token.actions.githubusercontent.com, audiences: [x], profile: github-actions }]
connections:
  - { name: h, type: http, upstream: https://x.test }
  - { name: l, type: llm, upstream: https://x.test, options: { provider: openai } }
  - { name: m, type: mcp, upstream: https://x.test }
  - { name: g, type: git, upstream: https://x.test }
  - { name: r, type: registry, upstream: https://x.test }
  - { name: k, type: kubernetes, upstream: https://x.test }
`,
    env: {},
  });
  assert.deepEqual(Object.fromEntries(typed.connections.map((c) => [c.type, c.maskResponses])), {
    http: 'all',
    llm: 'all',
    mcp: 'all',
    git: 'credential',
    registry: 'credential',
    kubernetes: 'credential',
  });
});
