import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '@agentgate/config';
import { parseIdentityConfig, resolveRuntime } from './config.js';

const issuer = { name: 'gh', issuer: 'https://token.actions.githubusercontent.com', audiences: ['agentgate'] };

function configError(input: unknown): string {
  try {
    parseIdentityConfig(input);
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'ERR_IDENTITY_CONFIG');
    return (err as Error).message;
  }
  assert.fail('expected ERR_IDENTITY_CONFIG');
}

test('identity config - one schema: a section parses exactly as the config package parses it', () => {
  const input = { issuers: [issuer], groups: [{ name: 'ci', when: { repository_owner: 'acme' } }], cache: { ttlSec: 60 } };
  assert.deepEqual(parseIdentityConfig(input), configSchema.parse({ identity: input }).identity);
  assert.deepEqual(parseIdentityConfig(undefined), configSchema.parse({}).identity);
});

test('identity config - the config package rules apply: slug names, unknown keys, discovery/jwksUri, duplicates', () => {
  // The identity service used to accept any non-empty name; the name becomes a NATS subject token elsewhere.
  assert.match(configError({ issuers: [{ ...issuer, name: 'GitHub Actions' }] }), /issuers\[0\]\.name/);
  assert.match(configError({ issuers: [{ ...issuer, audience: 'x' }] }), /issuers\[0\]\.audience": unknown key/);
  assert.match(configError({ issuers: [{ ...issuer, discovery: false }] }), /issuers\[0\]\.jwksUri/);
  assert.match(configError({ issuers: [issuer, { ...issuer, name: 'gh2' }] }), /issuers\[1\]\.issuer": duplicate issuer/);
  assert.match(configError({ issuers: [{ ...issuer, algorithms: ['HS256'] }] }), /algorithms/);
});

test('identity config - run-time options override the section, which supplies the defaults', () => {
  const config = parseIdentityConfig({ issuers: [issuer], jwks: { cooldownSec: 5 } });
  const now = (): number => 42;
  const rt = resolveRuntime(config, { cache: { maxEntries: 0 }, now });
  assert.deepEqual(rt.cache, { maxEntries: 0, ttlSec: 300 });
  assert.deepEqual(rt.jwks, { cooldownSec: 5, maxAgeSec: 600, timeoutMs: 5000 });
  assert.equal(rt.now, now);
});
