import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Bus, createBus } from '@agentgate/bus';
import { startSecretBroker } from './broker.js';
import { createLeaseClient } from './client.js';
import { LEASE_SUBJECT } from './subjects.js';
import { SECRET, config } from '../test/helpers.js';

async function setup(env: Record<string, string>, leaseTtlMs = 60_000) {
  const bus = await createBus();
  const broker = await startSecretBroker(bus, config(), undefined, { env, leaseTtlMs });
  const count = () => broker.service.stats().endpoints.find((e) => e.subject === LEASE_SUBJECT)?.requests ?? -1;
  return {
    bus,
    count,
    close: async () => {
      await broker.stop();
      await bus.close();
    },
  };
}

test('client - leases are cached until the TTL, then fetched again', async () => {
  const env: Record<string, string> = { GH_TOKEN: SECRET };
  const s = await setup(env);
  let clock = 1_000_000;
  try {
    const client = createLeaseClient(s.bus, { ttlMs: 10_000, now: () => clock });
    assert.equal((await client.lease('github')).value, SECRET);
    env['GH_TOKEN'] = 'rotated';
    clock += 9_000;
    assert.equal((await client.lease('github')).value, SECRET, 'served from cache inside the TTL');
    assert.equal(s.count(), 1);
    clock += 2_000;
    assert.equal((await client.lease('github')).value, 'rotated', 'fetched again after the TTL');
    assert.equal(s.count(), 2);
  } finally {
    await s.close();
  }
});

test('client - the cache never outlives the lease expiry given by the broker', async () => {
  const s = await setup({ GH_TOKEN: SECRET }, 2_000);
  let clock = Date.now();
  try {
    const client = createLeaseClient(s.bus, { ttlMs: 3_600_000, now: () => clock });
    await client.lease('github');
    clock += 2_500;
    await client.lease('github');
    assert.equal(s.count(), 2);
  } finally {
    await s.close();
  }
});

test('client - concurrent requests for one connection share one round trip', async () => {
  const s = await setup({ GH_TOKEN: SECRET, REG_PASSWORD: 'pw' });
  try {
    const client = createLeaseClient(s.bus);
    const leases = await Promise.all([...Array.from({ length: 20 }, () => client.lease('github')), client.lease('registry')]);
    assert.ok(leases.slice(0, 20).every((l) => l.value === SECRET));
    assert.equal(leases[20]?.value, 'pw');
    assert.equal(s.count(), 2);
  } finally {
    await s.close();
  }
});

test('client - invalidate forces a new lease; failures are not cached', async () => {
  const env: Record<string, string> = { GH_TOKEN: SECRET };
  const s = await setup(env);
  try {
    const client = createLeaseClient(s.bus);
    await client.lease('github');
    env['GH_TOKEN'] = 'after-401';
    client.invalidate('github');
    assert.equal((await client.lease('github')).value, 'after-401');
    delete env['GH_TOKEN'];
    client.invalidate('github');
    await assert.rejects(client.lease('github'), { code: 'ERR_SECRET_UNAVAILABLE' });
    env['GH_TOKEN'] = 'back';
    assert.equal((await client.lease('github')).value, 'back');
  } finally {
    await s.close();
  }
});

test('client - no broker on the bus is ERR_SECRET_UNAVAILABLE', async () => {
  const bus = await createBus();
  try {
    await assert.rejects(createLeaseClient(bus, { timeoutMs: 300 }).lease('github'), { name: 'SecretError', code: 'ERR_SECRET_UNAVAILABLE' });
  } finally {
    await bus.close();
  }
});

test('client - a reply sealed for another connection is refused', async () => {
  const { importRequesterKey, sealReply } = await import('./lib/envelope.js');
  const bus = await createBus();
  // A rogue responder replays the lease of another connection, correctly encrypted to the requester.
  const svc = await bus.addService({ name: 'rogue', version: '0.0.0' });
  svc.addEndpoint<{ publicKey: unknown }, unknown>(
    'lease',
    async (req) => {
      const key = await importRequesterKey(req.publicKey);
      const payload = { connection: 'other', ref: 'x', value: 'v', inject: { type: 'bearer' }, expiresAt: Date.now() + 1000 };
      return { jwe: await sealReply(key, payload), ttlMs: 1000 };
    },
    { subject: LEASE_SUBJECT },
  );
  try {
    await assert.rejects(createLeaseClient(bus).lease('github'), { code: 'ERR_SECRET_BAD_REQUEST' });
  } finally {
    await svc.stop();
    await bus.close();
  }
});

test('client - a client-certificate credential (a multi-line PEM bundle) is leased with its inject type', async () => {
  const pem =
    '-----BEGIN CERTIFICATE-----\nMIIBxTCCAWugAwIBAgIU\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----';
  const bus = await createBus();
  const cfg = config({
    connections: [
      { name: 'kube', type: 'kubernetes', upstream: 'https://10.0.0.1:6443', credential: { ref: 'kube-cert', inject: 'client-certificate' } },
    ] as never,
    secrets: [{ ref: 'kube-cert', source: 'env', env: 'KUBE_CERT' }],
  });
  const broker = await startSecretBroker(bus, cfg, undefined, { env: { KUBE_CERT: `${pem}\n` } });
  try {
    const lease = await createLeaseClient(bus).lease('kube');
    assert.equal(lease.value, pem);
    assert.equal(lease.inject.type, 'client-certificate');
  } finally {
    await broker.stop();
    await bus.close();
  }
});
