import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type NatsServer, startNats } from '@agentgate/testkit';
import { type Bus, createBus } from '../src/index.js';

// Per-service users as in deploy/nats/permissions.md: the proxy may subscribe only to its own
// reply inbox, so its requests work only with inboxPrefix `_INBOX_proxy`.
const CONF = `
authorization {
  users = [
    { user: broker, password: broker-pw, permissions: { subscribe: { allow: ["secrets.lease"] }, publish: { deny: ["secrets.>"] }, allow_responses: { max: 1, expires: "10s" } } }
    { user: proxy, password: proxy-pw, permissions: { publish: { allow: ["secrets.lease"] }, subscribe: { allow: ["_INBOX_proxy.>"] } } }
  ]
}
`;

let nats: NatsServer;
let broker: Bus;
const dir = mkdtempSync(join(tmpdir(), 'bus-auth-'));

before(async () => {
  const conf = join(dir, 'auth.conf');
  writeFileSync(conf, CONF);
  nats = await startNats({ jetstream: false, args: ['-c', conf] });
  process.env['TEST_BROKER_NATS_PASSWORD'] = 'broker-pw';
  broker = await createBus({ natsUrl: nats.url, nats: { user: 'broker', passwordEnv: 'TEST_BROKER_NATS_PASSWORD' }, name: 'broker' });
  broker.subscribe('secrets.lease', (m) => {
    if (m.reply) broker.publish(m.reply, JSON.stringify({ ok: true }));
  });
});

after(async () => {
  await broker?.close();
  await nats?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('nats auth - a per-service user with its inbox prefix gets replies on its private inbox', async () => {
  process.env['TEST_PROXY_NATS_PASSWORD'] = 'proxy-pw';
  const proxy = await createBus({
    natsUrl: nats.url,
    nats: { user: 'proxy', passwordEnv: 'TEST_PROXY_NATS_PASSWORD', inboxPrefix: '_INBOX_proxy' },
    name: 'proxy',
  });
  try {
    const reply = await proxy.requestRaw('secrets.lease', '{}', { timeoutMs: 3000 });
    assert.deepEqual(JSON.parse(new TextDecoder().decode(reply.data)), { ok: true });
  } finally {
    await proxy.close();
  }
});

test('nats auth - without the inbox prefix the same user cannot receive replies (the prefix is what the server sees)', async () => {
  const proxy = await createBus({ natsUrl: nats.url, nats: { user: 'proxy', passwordEnv: 'TEST_PROXY_NATS_PASSWORD' }, name: 'proxy-no-prefix' });
  try {
    await assert.rejects(proxy.requestRaw('secrets.lease', '{}', { timeoutMs: 1500 }));
  } finally {
    await proxy.close().catch(() => {});
  }
});

test('nats auth - a wrong password is refused, an unset password variable is named before connecting', async () => {
  process.env['TEST_WRONG_NATS_PASSWORD'] = 'nope';
  await assert.rejects(createBus({ natsUrl: nats.url, nats: { user: 'proxy', passwordEnv: 'TEST_WRONG_NATS_PASSWORD' } }), { code: 'ERR_BUS_UNAVAILABLE' });
  await assert.rejects(createBus({ natsUrl: nats.url, nats: { user: 'proxy', passwordEnv: 'TEST_UNSET_NATS_PASSWORD' } }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_BUS_UNAVAILABLE');
    assert.match(err.message, /TEST_UNSET_NATS_PASSWORD is not set/);
    return true;
  });
});
