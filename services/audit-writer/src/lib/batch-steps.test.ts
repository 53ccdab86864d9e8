import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Consumer, StreamMsg } from '@agentgate/bus';
import { GENESIS_HASH, encodeEvent } from '@agentgate/events';
import { makeEvents, testLogger } from '../../test/helpers.js';
import type { Sink } from '../sinks/types.js';
import { BatchCollector } from './batch-collector.js';
import {
  ackAll,
  addReleased,
  assignSlots,
  decodeBatch,
  lookupPlan,
  presentInEverySink,
  releaseSlots,
  reservedIds,
  sinkRetry,
  unreserved,
} from './batch-steps.js';
import type { ChainStateValue } from './chain-state.js';

const log = testLogger();

function fakeMsg(data: Uint8Array | string, seq: number): StreamMsg {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return {
    subject: 'audit.clean.x',
    data: bytes,
    headers: {},
    seq,
    msgId: undefined,
    deliveryCount: 1,
    timestamp: 0,
    json: () => JSON.parse(new TextDecoder().decode(bytes)),
    ack: async () => undefined,
    nak: () => undefined,
    working: () => undefined,
  } as StreamMsg;
}

test('writer batch - decodeBatch keeps valid events in order and dead-letters the rest with a reason', async () => {
  const [a, b] = makeEvents(2);
  const dead: Array<[number, string]> = [];
  const decoded = await decodeBatch([fakeMsg(encodeEvent(a!), 1), fakeMsg('not json', 2), fakeMsg(encodeEvent(b!), 3)], async (m, reason) => {
    dead.push([m.seq, reason]);
  });
  assert.deepEqual(
    decoded.map((d) => d.event.event.id),
    [a!.event.id, b!.event.id],
  );
  assert.equal(dead.length, 1);
  assert.equal(dead[0]![0], 2);
  assert.match(dead[0]![1], /^invalid event: /);
});

test('writer batch - assignSlots: new events take the next slots, a reserved one keeps its slot, one in every sink takes none, a repeat is skipped', async () => {
  const events = makeEvents(4);
  const decoded = events.map((event, i) => ({ msg: fakeMsg(encodeEvent(event), i + 1), event }));
  const chain: ChainStateValue = { seq: 0, hash: GENESIS_HASH, reserved: [] };
  const first = assignSlots(decoded.slice(0, 2), chain, new Set(), 'writer-0', log);
  assert.deepEqual(
    first.items.map((i) => i.sealed.event.sequence),
    [1, 2],
  );
  assert.deepEqual(
    chain.reserved.map((r) => r.seq),
    [1, 2],
  );
  assert.equal(chain.hash, first.items[1]!.sealed.event.hash);

  // A redelivery of event 1, a repeat of it in the same batch, event 2 already everywhere (no reservation left), event 3 new.
  releaseSlots(chain, [first.items[1]!]);
  const again = [decoded[0]!, decoded[0]!, decoded[2]!, decoded[3]!];
  assert.deepEqual(
    unreserved(again, chain).map((e) => e.id),
    [events[2]!.event.id, events[3]!.event.id],
  );
  const second = assignSlots(again, chain, new Set([events[2]!.event.id]), 'writer-0', log);
  assert.deepEqual(
    second.items.map((i) => [i.sealed.event.id, i.sealed.event.sequence]),
    [
      [events[0]!.event.id, 1],
      [events[3]!.event.id, 3],
    ],
  );
  assert.equal(second.items[0]!.sealed.event.hash, first.items[0]!.sealed.event.hash, 'same slot, same seal');
  assert.equal(second.alreadyIndexed, 1);
  assert.equal(chain.seq, 3);
  releaseSlots(chain, second.items);
  assert.deepEqual(chain.reserved, []);
});

test('writer batch - presentInEverySink is the intersection over sinks and retries an unavailable sink', async () => {
  let calls = 0;
  const flaky = {
    existing: async (ids: string[]) => {
      if (++calls === 1) throw Object.assign(new Error('down'), { code: 'ERR_SINK_UNAVAILABLE' });
      return new Set(ids.filter((id) => id !== 'b'));
    },
  } as unknown as Sink;
  const other = { existing: async (ids: string[]) => new Set(ids.filter((id) => id !== 'c')) } as unknown as Sink;
  let retries = 0;
  const events = ['a', 'b', 'c'].map((id) => ({ id, ts: '2025-01-01T00:00:00Z' }));
  const opts = {
    ...sinkRetry(
      log,
      'existing',
      () => false,
      () => retries++,
    ),
    baseMs: 1,
  };
  assert.deepEqual([...(await presentInEverySink([flaky, other], events, opts))], ['a']);
  assert.equal(retries, 1);
  assert.deepEqual([...(await presentInEverySink([], events, opts))], [], 'no sink holds nothing');
  const broken = { existing: async () => Promise.reject(Object.assign(new Error('bad'), { code: 'ERR_SINK_REJECTED' })) } as unknown as Sink;
  await assert.rejects(presentInEverySink([broken], events, opts), { code: 'ERR_SINK_REJECTED' });
});

test('writer batch - the collector tops a batch up to maxBytes, carries what was fetched past it into the next batch, and releases it at stop', async () => {
  const msgs = [1, 2, 3, 4, 5].map((seq) => fakeMsg('x'.repeat(100), seq));
  const nakked: number[] = [];
  for (const m of msgs) (m as { nak: (d?: number) => void }).nak = () => nakked.push(m.seq);
  // The first pull gets one message, the top-up three more: 100 + 100 + 100 reach maxBytes 250, the fourth is carried.
  const pulls = [[msgs[0]!], [msgs[1]!, msgs[2]!, msgs[3]!], [msgs[4]!]];
  const asked: number[] = [];
  const consumer = {
    fetch: async (o: { batch: number }) => {
      asked.push(o.batch);
      return pulls.shift() ?? [];
    },
    pending: async () => ({ pending: pulls.length, ackPending: 0 }),
  } as unknown as Consumer;
  const collector = new BatchCollector(consumer, { maxEvents: 10, maxBytes: 250, maxWaitMs: 5000 }, () => false);
  const first = await collector.collect();
  assert.deepEqual(
    first.map((m) => m.seq),
    [1, 2, 3],
  );
  assert.equal(collector.carried, 1);
  assert.deepEqual(asked, [10, 9]);
  const second = await collector.collect();
  assert.deepEqual(
    second.map((m) => m.seq),
    [4, 5],
    'the carried message comes first, without a new pull for it',
  );
  assert.equal(collector.carried, 0);
  const third = new BatchCollector(
    { fetch: async () => [msgs[0]!, msgs[1]!], pending: async () => ({ pending: 0, ackPending: 0 }) } as unknown as Consumer,
    { maxEvents: 10, maxBytes: 50, maxWaitMs: 5000 },
    () => false,
  );
  assert.deepEqual(
    (await third.collect()).map((m) => m.seq),
    [1, 2],
    'the first pull is taken whole',
  );
  pulls.push([msgs[1]!, msgs[2]!]);
  const stopping = new BatchCollector(consumer, { maxEvents: 10, maxBytes: 150, maxWaitMs: 5000 }, () => false);
  pulls.unshift([msgs[0]!]);
  await stopping.collect();
  assert.equal(stopping.carried, 1);
  stopping.release();
  assert.deepEqual([stopping.carried, nakked], [0, [3]], 'release hands the carried message back');
});

test('writer batch - addReleased: an event reserved when the sinks were asked and released since (by a batch in flight) is present, not a new slot', async () => {
  const events = makeEvents(3);
  const decoded = events.map((event, i) => ({ msg: fakeMsg(encodeEvent(event), i + 1), event }));
  const chain: ChainStateValue = { seq: 0, hash: GENESIS_HASH, reserved: [] };
  // Batch A (in flight) holds events 0 and 1; batch B redelivers both and brings event 2.
  const a = assignSlots(decoded.slice(0, 2), chain, new Set(), 'writer-0', log);
  const asked = unreserved(decoded, chain);
  assert.deepEqual(
    asked.map((e) => e.id),
    [events[2]!.event.id],
  );
  const reservedBefore = reservedIds(chain);
  // While B asks the sinks, A finishes event 0 and 1 (every sink confirmed them) and releases them.
  releaseSlots(chain, a.items);
  const present = new Set<string>();
  addReleased(present, decoded, reservedBefore, chain);
  assert.deepEqual([...present].sort(), [events[0]!.event.id, events[1]!.event.id].sort());
  const b = assignSlots(decoded, chain, present, 'writer-0', log);
  assert.deepEqual(
    b.items.map((i) => [i.sealed.event.id, i.sealed.event.sequence]),
    [[events[2]!.event.id, 3]],
    'no second slot for a released event',
  );
  assert.equal(b.alreadyIndexed, 2);
  // Without the release, the reserved events keep their slots (nothing added).
  const still = new Set<string>();
  const chain2: ChainStateValue = { seq: 0, hash: GENESIS_HASH, reserved: [] };
  assignSlots(decoded.slice(0, 2), chain2, new Set(), 'writer-0', log);
  addReleased(still, decoded, reservedIds(chain2), chain2);
  assert.equal(still.size, 0);
});

test('writer batch - ackAll acks without a request per message where the bus offers it, else awaits each ack', async () => {
  const noWait: number[] = [];
  const waited: number[] = [];
  const quick = [1, 2].map((seq) => ({ ...fakeMsg('{}', seq), ackNoWait: () => noWait.push(seq), ack: async () => void waited.push(seq) }) as StreamMsg);
  let release!: () => void;
  const slow = { ...fakeMsg('{}', 3), ack: () => new Promise<void>((r) => (release = () => r(void waited.push(3)))) } as StreamMsg;
  const done = ackAll([...quick, slow]);
  let settled = false;
  void done.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(noWait, [1, 2]);
  assert.equal(settled, false, 'resolves only once the awaited ack is confirmed');
  release();
  await done;
  assert.deepEqual(waited, [3]);
});

test('writer batch - lookupPlan: only redeliveries are looked up; first deliveries of unknown ids are not, known ones are present, reserved ones keep their slot', () => {
  const events = makeEvents(5);
  const ids = events.map((e) => e.event.id);
  const decoded = events.map((event, i) => ({ msg: { ...fakeMsg(encodeEvent(event), i + 1), deliveryCount: i === 1 ? 2 : 1 } as StreamMsg, event }));
  const chain: ChainStateValue = { seq: 0, hash: GENESIS_HASH, reserved: [] };
  assignSlots(decoded.slice(4), chain, new Set(), 'writer-0', log);
  const plan = lookupPlan(decoded, chain, new Set([ids[2]!]));
  assert.deepEqual(
    plan.ask.map((a) => a.id),
    [ids[1]],
    'the redelivery only',
  );
  assert.deepEqual([...plan.present], [ids[2]], 'released lately: present without asking');
  assert.deepEqual([...plan.reservedBefore], [ids[4]]);
  // A first delivery not asked about is not "present" (it takes a new slot).
  const present = new Set(plan.present);
  addReleased(present, decoded, plan.reservedBefore, chain);
  assert.deepEqual([...present], [ids[2]]);
  const all = lookupPlan(decoded, chain, new Set(), true);
  assert.deepEqual(
    all.ask.map((a) => a.id),
    ids.slice(0, 4),
  );
});
