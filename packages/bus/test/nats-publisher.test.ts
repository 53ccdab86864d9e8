// The pipelined JetStream publisher (src/nats/js-publisher.ts) against a real nats-server: publishes in
// flight together share socket writes, each still gets its own acknowledgement or typed error.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type NatsServer, startNats } from '@agentgate/testkit';
import { type Bus, BusError, createBus, NatsBus } from '../src/index.js';

// A publisher user as deploy/nats/permissions.md gives the proxy: its replies only under _INBOX_proxy.
const CONF = `
jetstream {}
authorization {
  users = [
    { user: admin, password: admin-pw }
    { user: proxy, password: proxy-pw, permissions: { publish: { allow: ["pub.>", "$JS.API.>"] }, subscribe: { allow: ["_INBOX_proxy.>"] } } }
  ]
}
`;

let nats: NatsServer;
let bus: Bus;
const dir = mkdtempSync(join(tmpdir(), 'bus-publisher-'));

before(async () => {
  const conf = join(dir, 'server.conf');
  writeFileSync(conf, CONF);
  nats = await startNats({ args: ['-c', conf] });
  bus = await NatsBus.connect({ servers: nats.url, user: 'admin', password: 'admin-pw', name: 'publisher-test' });
  await bus.streams.ensure({ name: 'PUB', subjects: ['pub.stored.>'], maxMsgs: 10_000 });
  await bus.streams.ensure({ name: 'PUB_SMALL', subjects: ['pub.small.>'], maxMsgs: 1 });
});

after(async () => {
  await bus?.close();
  await nats?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Counts socket writes of this process while `fn` runs. */
async function countingWrites<T>(fn: () => Promise<T>): Promise<{ value: T; writes: number }> {
  const original = Socket.prototype.write;
  let writes = 0;
  Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    writes++;
    return original.apply(this, args);
  } as Socket['write'];
  try {
    const value = await fn();
    return { value, writes };
  } finally {
    Socket.prototype.write = original;
  }
}

const codeOf = (err: unknown): string | undefined => (err instanceof BusError ? err.code : undefined);

/** Runs `fn` in a task of its own (as each HTTP request's publish runs in its socket's callback), not in the caller's. */
const inOwnTask = <T>(fn: () => Promise<T>): Promise<T> => new Promise<void>((r) => setImmediate(r)).then(fn);

test('publisher - 500 publishes from 500 tasks of one event-loop turn are each stored once, acknowledged in order, in a few socket writes', async () => {
  const before = (await bus.streams.info('PUB')).lastSeq;
  const { value: acks, writes } = await countingWrites(() =>
    Promise.all(Array.from({ length: 500 }, (_, i) => inOwnTask(() => bus.streams.publish(`pub.stored.${i % 7}`, `message ${i}`, { msgId: `burst-${i}` })))),
  );
  // A request per publish (js.publish) is flushed at the end of its task: 500 writes. Pipelined, the publishes made
  // during one turn of the event loop share one write.
  assert.ok(writes <= 5, `${writes} socket writes for 500 publishes`);
  assert.deepEqual(
    acks.map((a) => a.seq),
    Array.from({ length: 500 }, (_, i) => before + 1 + i),
  );
  assert.ok(acks.every((a) => a.stream === 'PUB' && !a.duplicate));
  const stored = await bus.streams.get('PUB', acks[42]!.seq);
  assert.equal(new TextDecoder().decode(stored!.data), 'message 42');
  assert.equal(stored!.msgId, 'burst-42');

  // The same message ids again: the stream's de-duplication answers duplicate and stores nothing.
  const again = await Promise.all(Array.from({ length: 500 }, (_, i) => bus.streams.publish(`pub.stored.${i % 7}`, `message ${i}`, { msgId: `burst-${i}` })));
  assert.ok(again.every((a) => a.duplicate));
  assert.equal((await bus.streams.info('PUB')).lastSeq, before + 500);
});

test('publisher - publishes of one batch get their own outcomes: stored, full, no stream, no acknowledgement (timeout)', async () => {
  // A plain subscriber on a subject no stream captures: the server delivers there, nobody acknowledges.
  const silent = bus.subscribe('pub.silent', () => {});
  await bus.flush();
  try {
    await bus.streams.publish('pub.small.a', 'fills the stream', { msgId: 'small-1' });
    const started = Date.now();
    const results = await Promise.allSettled([
      bus.streams.publish('pub.stored.mixed', 'ok', { msgId: 'mixed-1' }),
      bus.streams.publish('pub.small.b', 'refused: the stream is full', { msgId: 'small-2' }),
      bus.streams.publish('pub.nowhere', 'no stream captures it'),
      bus.streams.publish('pub.silent', 'never acknowledged', { timeoutMs: 300 }),
      bus.streams.publish('pub.stored.mixed', 'ok too', { msgId: 'mixed-2' }),
    ]);
    const elapsed = Date.now() - started;
    assert.equal(results[0]!.status, 'fulfilled');
    assert.equal(results[4]!.status, 'fulfilled');
    const reasons = results.map((r) => (r.status === 'rejected' ? codeOf(r.reason) : 'stored'));
    assert.deepEqual(reasons, ['stored', 'ERR_STREAM_FULL', 'ERR_STREAM_NO_MATCH', 'ERR_BUS_TIMEOUT', 'stored']);
    assert.ok(elapsed >= 250 && elapsed < 3000, `timed out after ${elapsed} ms`);
  } finally {
    await silent.unsubscribe();
  }
});

test('publisher - acknowledgements come back under the per-service inbox prefix (a user allowed only _INBOX_proxy.>)', async () => {
  process.env['TEST_PUBLISHER_PROXY_PASSWORD'] = 'proxy-pw';
  const proxy = await createBus({
    natsUrl: nats.url,
    nats: { user: 'proxy', passwordEnv: 'TEST_PUBLISHER_PROXY_PASSWORD', inboxPrefix: '_INBOX_proxy' },
    name: 'publisher-proxy',
  });
  try {
    const acks = await Promise.all(
      [1, 2, 3].map((i) => proxy.streams.publish('pub.stored.proxy', `from proxy ${i}`, { msgId: `proxy-${i}`, timeoutMs: 3000 })),
    );
    assert.ok(acks.every((a) => a.stream === 'PUB' && a.seq > 0));
  } finally {
    await proxy.close();
  }
});

test('publisher - a connection closing with acknowledgements outstanding fails them with a typed error, no hang', async () => {
  const other = await NatsBus.connect({ servers: nats.url, user: 'admin', password: 'admin-pw', name: 'publisher-closing' });
  const silent = bus.subscribe('pub.silent2', () => {});
  await bus.flush();
  try {
    const pending = other.streams.publish('pub.silent2', 'never acknowledged', { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await other.close();
    await assert.rejects(pending, (err: unknown) => codeOf(err) === 'ERR_STREAM_PUBLISH' || codeOf(err) === 'ERR_BUS_UNAVAILABLE');
    assert.ok(Date.now() - started < 5000);
  } finally {
    await silent.unsubscribe();
  }
});

test('publisher - a lingering publish waits for the next one that does not (same write, its order kept), or for its linger time', async () => {
  const start = (await bus.streams.info('PUB')).lastSeq;
  const lingering = bus.streams.publish('pub.stored.linger', 'outcome', { msgId: 'linger-1', lingerMs: 10_000 });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await bus.streams.info('PUB')).lastSeq, start, 'not written while it lingers');
  const [first, second] = await Promise.all([lingering, bus.streams.publish('pub.stored.linger', 'intent', { msgId: 'linger-2' })]);
  assert.deepEqual([first.seq, second.seq], [start + 1, start + 2]);

  const started = Date.now();
  const alone = await bus.streams.publish('pub.stored.linger', 'outcome alone', { msgId: 'linger-3', lingerMs: 150 });
  const waited = Date.now() - started;
  assert.equal(alone.seq, start + 3);
  assert.ok(waited >= 140 && waited < 3000, `stored after ${waited} ms`);
});
