import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createBus, type Kv } from '@agentgate/bus';
import { tmp } from '../../test/helpers.js';
import { CHAIN_BUCKET, ChainState } from './chain-state.js';

test('chain state - concurrent saves (batches in flight) run one at a time, share a save not yet started, and store the newest value', async () => {
  const bus = await createBus({ dataDir: join(tmp('chain-state'), 'bus') });
  const kv = await bus.kv(CHAIN_BUCKET, { history: 1 });
  let writes = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const timed = async (write: () => Promise<number>): Promise<number> => {
    writes++;
    maxConcurrent = Math.max(maxConcurrent, ++concurrent);
    try {
      await new Promise((r) => setTimeout(r, 20));
      return await write();
    } finally {
      concurrent--;
    }
  };
  const counted = {
    bucket: kv.bucket,
    get: (key: string) => kv.get(key),
    create: (key: string, value: string) => timed(() => kv.create(key, value)),
    update: (key: string, value: string, revision: number) => timed(() => kv.update(key, value, revision)),
  } as unknown as Kv;
  const chain = new ChainState(counted, 'writer-0');
  await chain.load();
  chain.value.seq = 1;
  const first = chain.save();
  await new Promise((r) => setImmediate(r));
  // Four more callers while the first save is under way: they share one more save, which stores seq 5.
  const rest = [2, 3, 4, 5].map((seq) => {
    chain.value.seq = seq;
    return chain.save();
  });
  await Promise.all([first, ...rest]);
  assert.equal(maxConcurrent, 1, 'never two CAS writes at once (that would look like a second writer)');
  assert.equal(writes, 2);
  const stored = new ChainState(kv, 'writer-0');
  assert.equal((await stored.load()).seq, 5);
  // Calls made before a save started all share it.
  writes = 0;
  const shared = [7, 8, 9].map((seq) => {
    chain.value.seq = seq;
    return chain.save();
  });
  await Promise.all(shared);
  assert.equal(writes, 1);
  assert.equal((await stored.load()).seq, 9);
  // A second writer that advanced the partition is still a conflict.
  await stored.save();
  chain.value.seq = 6;
  await assert.rejects(chain.save(), { code: 'ERR_CHAIN_CONFLICT' });
  await bus.close();
});

test('chain state - a save stores exactly the value (reservation texts reused across saves)', async () => {
  const bus = await createBus({ dataDir: join(tmp('chain-state-json'), 'bus') });
  const kv = await bus.kv(CHAIN_BUCKET, { history: 1 });
  const chain = new ChainState(kv, 'writer-0');
  const stored = async () => (await kv.get('writer-0'))!.json<unknown>();
  const r = (seq: number) => ({
    id: `id-${seq}`,
    seq,
    prev: String(seq - 1).padStart(64, '0'),
    hash: String(seq).padStart(64, '0'),
    ts: '2025-01-01T00:00:00.000Z',
  });
  await chain.save();
  assert.deepEqual(await stored(), chain.value);
  chain.value.reserved.push(r(1), r(2));
  chain.value.seq = 2;
  chain.value.hash = r(2).hash;
  await chain.save();
  assert.deepEqual(await stored(), chain.value);
  chain.value.reserved = chain.value.reserved.filter((x) => x.seq !== 1);
  chain.value.reserved.push(r(3));
  chain.value.seq = 3;
  await chain.save();
  assert.deepEqual(await stored(), { seq: 3, hash: r(2).hash, reserved: [r(2), r(3)] });
  await bus.close();
});
