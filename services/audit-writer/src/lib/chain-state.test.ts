import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createBus, type Kv } from '@agentgate/bus';
import { tmp } from '../../test/helpers.js';
import { CHAIN_BUCKET, ChainState, decodeChainHead, type StoredChainHead } from './chain-state.js';
import { readBusHead } from './head-witness.js';

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

test('chain state - a save stores exactly the value, reservations as runs of linked positions (texts reused across saves)', async () => {
  const bus = await createBus({ dataDir: join(tmp('chain-state-json'), 'bus') });
  const kv = await bus.kv(CHAIN_BUCKET, { history: 1 });
  const chain = new ChainState(kv, 'writer-0');
  const stored = async () => (await kv.get('writer-0'))!.json<StoredChainHead>();
  const r = (seq: number) => ({
    id: `id-${seq}`,
    seq,
    prev: String(seq - 1).padStart(64, '0'),
    hash: String(seq).padStart(64, '0'),
    ts: '2025-01-01T00:00:00.000Z',
  });
  await chain.save();
  assert.deepEqual(decodeChainHead(await stored()), chain.value);
  chain.value.reserved.push(r(1), r(2));
  chain.value.seq = 2;
  chain.value.hash = r(2).hash;
  await chain.save();
  assert.deepEqual(decodeChainHead(await stored()), chain.value);
  chain.value.reserved = chain.value.reserved.filter((x) => x.seq !== 1);
  // 3 follows 2; 5 does not follow 3 (4 was released): two runs.
  chain.value.reserved.push(r(3), r(5));
  chain.value.seq = 5;
  await chain.save();
  const raw = await stored();
  assert.deepEqual(raw, {
    seq: 5,
    hash: r(2).hash,
    runs: [
      {
        seq: 2,
        prev: r(2).prev,
        r: [
          [r(2).id, r(2).hash, r(2).ts],
          [r(3).id, r(3).hash, r(3).ts],
        ],
      },
      { seq: 5, prev: r(5).prev, r: [[r(5).id, r(5).hash, r(5).ts]] },
    ],
  });
  assert.deepEqual(decodeChainHead(raw), { seq: 5, hash: r(2).hash, reserved: [r(2), r(3), r(5)] });
  // A position whose previous hash is not the hash before it starts a run of its own (never relinked).
  const odd = { ...r(6), prev: 'f'.repeat(64) };
  chain.value.reserved.push(odd);
  chain.value.seq = 6;
  await chain.save();
  assert.deepEqual(decodeChainHead(await stored())!.reserved.at(-1), odd);
  await bus.close();
});

test('chain state - a head stored by the previous layout (one object per reservation) loads as it was, and the new one is about half its size', async () => {
  const bus = await createBus({ dataDir: join(tmp('chain-state-v1'), 'bus') });
  const kv = await bus.kv(CHAIN_BUCKET, { history: 1 });
  const reserved = Array.from({ length: 1000 }, (_, i) => ({
    id: `01JGK0EK00PJ0K2MM2WD${String(i).padStart(6, '0')}`,
    seq: 101 + i,
    prev: (100 + i).toString(16).padStart(64, 'a'),
    hash: (101 + i).toString(16).padStart(64, 'a'),
    ts: '2025-01-02T08:00:00.000Z',
  }));
  const old = JSON.stringify({ seq: 1100, hash: reserved.at(-1)!.hash, reserved });
  await kv.create('writer-0', old);
  const chain = new ChainState(kv, 'writer-0');
  assert.deepEqual(await chain.load(), { seq: 1100, hash: reserved.at(-1)!.hash, reserved });
  assert.deepEqual(await readBusHead({ bus }, 'writer-0'), { seq: 1100, hash: reserved.at(-1)!.hash, reserved: reserved.map((x) => x.seq) });
  await chain.save();
  const now = (await kv.get('writer-0'))!;
  assert.ok(now.value.length < old.length * 0.6, `${now.value.length} bytes against ${old.length}`);
  assert.deepEqual(decodeChainHead(now.json<StoredChainHead>()), { seq: 1100, hash: reserved.at(-1)!.hash, reserved });
  assert.deepEqual(
    (await readBusHead({ bus }, 'writer-0'))!.reserved,
    reserved.map((x) => x.seq),
  );
  // Not a chain head at all: the writer refuses to start on it rather than guess.
  await kv.put('writer-1', JSON.stringify({ reserved: [] }));
  await assert.rejects(new ChainState(kv, 'writer-1').load(), { code: 'ERR_CHAIN_STATE' });
  await bus.close();
});
