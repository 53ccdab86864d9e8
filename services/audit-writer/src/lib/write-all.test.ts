import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { type AuditEvent, GENESIS_HASH, sealEvent } from '@agentgate/events';
import { makeEvents, testLogger, tmp } from '../../test/helpers.js';
import { LocalSink } from '../sinks/local.js';
import type { ChainStateValue, Reserved } from './chain-state.js';
import { fillerId, isFiller } from './filler.js';
import { resolveOrphans } from './orphans.js';
import { type WriteContext, writeAll } from './write-all.js';

const ctx: WriteContext = {
  working: () => undefined,
  giveUp: () => false,
  logger: testLogger(),
  deadLetter: async () => {
    throw new Error('nothing is dead-lettered here');
  },
};

async function stored(sink: LocalSink, partition: string): Promise<Array<{ id: string; seq: number | undefined; filler: boolean }>> {
  const out: Array<{ id: string; seq: number | undefined; filler: boolean }> = [];
  for await (const { id, doc } of sink.readChain({ partition })) out.push({ id, seq: doc.event.sequence, filler: isFiller(doc) });
  return out;
}

test('writeAll - an event another writer already stored in its own chain slot leaves a duplicate filler in this slot, not a hole', async () => {
  const dir = tmp('dup');
  try {
    const sink = new LocalSink(dir);
    await sink.setup();
    const [event] = makeEvents(1);
    // writer-1 sealed and stored it first (a redelivery raced it there) ...
    const theirs = sealEvent(event!, { partition: 'writer-1', seq: 4, prevHash: GENESIS_HASH });
    assert.deepEqual(await writeAll([sink], [{ sealed: theirs }], ctx), { created: 1, exists: 0, duplicates: 0, retries: 0 });
    // ... then writer-0, which had sealed the same event into its slot 7, writes it.
    const ours = sealEvent(event!, { partition: 'writer-0', seq: 7, prevHash: GENESIS_HASH });
    const result = await writeAll([sink], [{ sealed: ours }], ctx);
    assert.deepEqual(result, { created: 0, exists: 0, duplicates: 1, retries: 0 });
    assert.deepEqual(await stored(sink, 'writer-0'), [{ id: fillerId('writer-0', 7), seq: 7, filler: true }]);
    assert.deepEqual(await stored(sink, 'writer-1'), [{ id: event!.event.id, seq: 4, filler: false }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("writeAll - the same seal found already stored (a write whose answer was lost) is this writer's own: no filler", async () => {
  const dir = tmp('own');
  try {
    const sink = new LocalSink(dir);
    await sink.setup();
    const [event] = makeEvents(1);
    const ours = sealEvent(event!, { partition: 'writer-0', seq: 3, prevHash: GENESIS_HASH });
    await writeAll([sink], [{ sealed: ours }], ctx);
    assert.deepEqual(await writeAll([sink], [{ sealed: ours }], ctx), { created: 0, exists: 1, duplicates: 0, retries: 0 });
    assert.deepEqual(await stored(sink, 'writer-0'), [{ id: event!.event.id, seq: 3, filler: false }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("resolveOrphans - reservations no batch works on: stored here → released; stored in another writer's slot → filler here, released; not stored or busy → kept", async () => {
  const dir = tmp('orphans');
  try {
    const sink = new LocalSink(dir);
    await sink.setup();
    const [a, b, c, d] = makeEvents(4);
    const seal = (e: AuditEvent, partition: string, seq: number) => sealEvent(e, { partition, seq, prevHash: GENESIS_HASH });
    const reserve = (e: AuditEvent, seq: number): Reserved => {
      const s = seal(e, 'writer-0', seq);
      return { id: e.event.id, seq, prev: GENESIS_HASH, hash: s.event.hash!, ts: e['@timestamp'] };
    };
    await writeAll([sink], [{ sealed: seal(a!, 'writer-0', 1) }, { sealed: seal(b!, 'writer-1', 9) }], ctx);
    const chain: ChainStateValue = { seq: 4, hash: 'h', reserved: [reserve(a!, 1), reserve(b!, 2), reserve(c!, 3), reserve(d!, 4)] };
    const released = await resolveOrphans(chain, 'writer-0', [sink], new Set([d!.event.id]), ctx.logger);
    assert.deepEqual(
      released.map((r) => r.seq),
      [1, 2],
    );
    assert.deepEqual(
      chain.reserved.map((r) => r.seq),
      [3, 4],
    );
    assert.deepEqual(await stored(sink, 'writer-0'), [
      { id: a!.event.id, seq: 1, filler: false },
      { id: fillerId('writer-0', 2), seq: 2, filler: true },
    ]);
    // Settling again finds nothing new to do.
    assert.deepEqual(await resolveOrphans(chain, 'writer-0', [sink], new Set([d!.event.id]), ctx.logger), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
