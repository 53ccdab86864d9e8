import assert from 'node:assert/strict';
import { test } from 'node:test';
import { injectCredential } from './inject.js';
import { makeLease } from './lib/lease-object.js';

const at = Date.now() + 60_000;

test('inject - bearer replaces any Authorization the agent sent, whatever its case', () => {
  const h = injectCredential(
    { Authorization: 'Bearer agent-token', AUTHORIZATION: ['x'], accept: 'application/json' },
    makeLease('r', 'gw-token', { type: 'bearer' }, at),
  );
  assert.deepEqual(h, { accept: 'application/json', authorization: 'Bearer gw-token' });
});

test('inject - basic encodes username:value', () => {
  const h = injectCredential({}, makeLease('r', 'p@ss:word', { type: 'basic', username: 'ci-bot' }, at));
  assert.equal(h['authorization'], `Basic ${Buffer.from('ci-bot:p@ss:word').toString('base64')}`);
});

test('inject - a named header replaces the agent value and leaves Authorization alone', () => {
  const h = injectCredential({ 'X-Api-Key': 'agent', authorization: 'Bearer keep' }, makeLease('r', 'gw-key', { type: 'header', header: 'X-API-Key' }, at));
  assert.deepEqual(h, { authorization: 'Bearer keep', 'x-api-key': 'gw-key' });
});

test('inject - a value with CR/LF is refused (header injection)', () => {
  assert.throws(() => injectCredential({}, makeLease('r', 'a\r\nX-Evil: 1', { type: 'bearer' }, at)), { code: 'ERR_SECRET_UNAVAILABLE' });
});

test('inject - a client certificate is never put in a header', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  assert.throws(() => injectCredential({}, makeLease('r', pem, { type: 'client-certificate' }, at)), { code: 'ERR_SECRET_UNAVAILABLE' });
});
