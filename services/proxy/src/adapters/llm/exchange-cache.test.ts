import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InprocBus } from '@agentgate/bus';
import { CachedExchangeStore } from './exchange-cache.js';
import { kvExchangeStore } from './exchange-store.js';

const call = (name: string) => ({ id: `call-${name}`, name, arguments: '{}' });

async function liveStore(bus: InprocBus, opts: ConstructorParameters<typeof CachedExchangeStore>[1] = {}): Promise<CachedExchangeStore> {
  const s = new CachedExchangeStore(bus, opts);
  for (let i = 0; i < 100 && !s.live; i++) await new Promise((r) => setImmediate(r));
  assert.equal(s.live, true, 'the watch went live');
  return s;
}

test('exchange cache - a replica reads its own and other replicas’ exchanges from memory', async () => {
  const bus = new InprocBus();
  const a = await liveStore(bus);
  const b = await liveStore(bus);
  try {
    await a.add('s1', { id: 'x1', at: 1, toolCalls: [call('push')] });
    assert.deepEqual(
      (await a.recent('s1')).map((e) => e.id),
      ['x1'],
      'own write, at once',
    );
    assert.deepEqual(
      (await b.recent('s1')).map((e) => e.id),
      ['x1'],
      'through the watch',
    );
    assert.deepEqual(await b.recent('other'), [], 'a session without exchanges');
  } finally {
    await a.close();
    await b.close();
  }
});

test('exchange cache - a session dropped for room is read from the bucket again', async () => {
  const bus = new InprocBus();
  const writer = kvExchangeStore(bus);
  const s = await liveStore(bus, { maxSessions: 2 });
  try {
    for (const id of ['s1', 's2', 's3']) await writer.add(id, { id: `x-${id}`, at: 1, toolCalls: [call('push')] });
    // s1 was the least recently used of three sessions in a cache of two.
    assert.deepEqual(
      (await s.recent('s1')).map((e) => e.id),
      ['x-s1'],
    );
    assert.deepEqual(
      (await s.recent('s3')).map((e) => e.id),
      ['x-s3'],
    );
    assert.deepEqual(await s.recent('none'), []);
  } finally {
    await s.close();
  }
});

test('exchange cache - sessions expire with the bucket’s ttl', async () => {
  const bus = new InprocBus();
  const s = await liveStore(bus, { ttlMs: 30 });
  try {
    await s.add('s1', { id: 'x1', at: 1, toolCalls: [] });
    assert.equal((await s.recent('s1')).length, 1);
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(await s.recent('s1'), []);
  } finally {
    await s.close();
  }
});
