import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { LEASE_SUBJECT, MASKLIST_SUBJECT, createLeaseClient, startSecretBroker } from '../src/index.js';
import { SECRET, config, leakForms } from './helpers.js';

async function setup(env: Record<string, string>) {
  const bus = await createBus();
  const broker = await startSecretBroker(bus, config(), undefined, { env });
  return {
    bus,
    broker,
    close: async () => {
      await broker.stop();
      await bus.close();
    },
  };
}

test('lease - the client receives the credential over the in-process bus', async () => {
  const s = await setup({ GH_TOKEN: SECRET, REG_PASSWORD: 'pw' });
  try {
    const lease = await createLeaseClient(s.bus).lease('github');
    assert.equal(lease.value, SECRET);
    assert.equal(lease.ref, 'gh');
    assert.deepEqual(lease.inject, { type: 'bearer' });
    assert.ok(lease.expiresAt > Date.now());
    const basic = await createLeaseClient(s.bus).lease('registry');
    assert.deepEqual(basic.inject, { type: 'basic', username: 'ci' });
  } finally {
    await s.close();
  }
});

test('lease - the raw reply on the bus contains no form of the secret', async () => {
  const s = await setup({ GH_TOKEN: SECRET, REG_PASSWORD: 'pw' });
  try {
    const { generateKeyPair, exportJWK } = await import('jose');
    const { publicKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256' });
    const { kty, crv, x, y } = await exportJWK(publicKey);
    for (const [subject, body] of [
      [LEASE_SUBJECT, { connection: 'github', publicKey: { kty, crv, x, y } }],
      [MASKLIST_SUBJECT, { publicKey: { kty, crv, x, y } }],
    ] as const) {
      const msg = await s.bus.requestRaw(subject, JSON.stringify(body));
      const raw = Buffer.from(msg.data).toString('latin1');
      assert.match(raw, /"jwe":"ey/, `${subject} replies with a JWE`);
      for (const form of leakForms(SECRET)) assert.equal(raw.includes(form), false, `${subject} reply leaks a form of the secret`);
    }
  } finally {
    await s.close();
  }
});

test('lease - a lease never serializes its value', async () => {
  const s = await setup({ GH_TOKEN: SECRET, REG_PASSWORD: 'pw' });
  try {
    const lease = await createLeaseClient(s.bus).lease('github');
    assert.equal(JSON.stringify(lease).includes(SECRET), false);
    assert.equal(inspect(lease).includes(SECRET), false);
    assert.match(JSON.stringify(lease), /\[REDACTED\]/);
  } finally {
    await s.close();
  }
});

test('lease - refusals carry their code across the bus', async () => {
  const s = await setup({ REG_PASSWORD: 'pw' });
  try {
    const client = createLeaseClient(s.bus);
    await assert.rejects(client.lease('nope'), { name: 'SecretError', code: 'ERR_SECRET_UNKNOWN_CONNECTION' });
    await assert.rejects(client.lease('public'), { code: 'ERR_SECRET_NO_CREDENTIAL' });
    // GH_TOKEN unset: the backend is unavailable.
    await assert.rejects(client.lease('github'), { code: 'ERR_SECRET_UNAVAILABLE' });
  } finally {
    await s.close();
  }
});

test('lease - a bad public key is refused', async () => {
  const s = await setup({ GH_TOKEN: SECRET, REG_PASSWORD: 'pw' });
  try {
    const { generateKeyPair, exportJWK } = await import('jose');
    const ec = await exportJWK((await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true })).privateKey);
    const p384 = await exportJWK((await generateKeyPair('ECDH-ES', { crv: 'P-384' })).publicKey);
    const bad = [undefined, 'key', { kty: 'oct', k: 'AAAA' }, p384, ec, { kty: 'EC', crv: 'P-256', x: ec.x, y: ec.x }];
    for (const publicKey of bad) {
      await assert.rejects(s.bus.request(LEASE_SUBJECT, { connection: 'github', publicKey }), { code: 'ERR_SECRET_BAD_KEY' });
    }
  } finally {
    await s.close();
  }
});

test('masklist - returns every readable secret and skips unavailable ones', async () => {
  const s = await setup({ GH_TOKEN: SECRET });
  try {
    const list = await createLeaseClient(s.bus).masklist();
    assert.deepEqual(list, [{ ref: 'gh', value: SECRET }]);
  } finally {
    await s.close();
  }
});
