import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Bus, createBus } from '@agentgate/bus';
import { type AuditEvent, STREAMS, auditStreamConfig, cleanSubject, encodeEvent } from '@agentgate/events';
import { LocalSink, type Sink, formatVerifyReport, publicKeyPath, readLocalTrail, readPublicKey, startAuditWriter, verifyTrail } from '../src/index.js';
import { makeEvents, publishEvents, testLogger, tmp, waitUntil, writerConfig } from './helpers.js';

/** A local sink counting the ids it was asked about (`existing`, the `_mget` before sealing). */
function countingSink(path: string): { sink: Sink; looked: () => number } {
  const inner = new LocalSink(path);
  let looked = 0;
  const sink = Object.create(inner) as Sink;
  sink.existing = async (ids) => {
    looked += ids.length;
    return inner.existing(ids);
  };
  sink.storedDocs = (ids) => inner.storedDocs(ids);
  sink.write = (docs) => inner.write(docs);
  return { sink, looked: () => looked };
}

/** The same events published again as new messages (another msg id): what a republish past the de-duplication window looks like. */
async function republish(bus: Bus, events: AuditEvent[]): Promise<void> {
  await Promise.all(events.map((e) => bus.streams.publish(cleanSubject(e), encodeEvent(e), { msgId: `again-${e.event.id}` })));
}

async function runCase(lookupAll: boolean) {
  const dir = tmp(lookupAll ? 'first-all' : 'first');
  const store = join(dir, 'audit');
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const cfg = writerConfig(dir, [{ type: 'local', path: store }], { batch: { maxEvents: 40, maxBytes: 5 * 1024 * 1024, maxWaitMs: 50 } });
  await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_CLEAN, cfg.bus.streams));
  const events = makeEvents(130);
  const [first, later] = [events.slice(0, 100), events.slice(100)];
  const a = countingSink(store);
  await publishEvents(bus, first);
  const w1 = await startAuditWriter(bus, cfg, testLogger(), { sinks: [a.sink], lookupAll });
  await waitUntil('first 100 indexed', () => w1.stats().indexed === 100, 30_000, 20);
  // Copies of stored events while this writer remembers releasing them: acked without a slot or a lookup.
  await republish(bus, first.slice(0, 10));
  await waitUntil('the copies acked', () => w1.stats().alreadyIndexed >= 10, 30_000, 20);
  await w1.stop();
  const lookedFirstRun = a.looked();

  // A new writer (no memory of what it released): copies of stored events are first deliveries it does not know.
  const b = countingSink(store);
  const w2 = await startAuditWriter(bus, cfg, testLogger(), { sinks: [b.sink], lookupAll });
  await republish(bus, first.slice(10, 20));
  await publishEvents(bus, later);
  await waitUntil('the rest indexed', () => w2.stats().indexed === 30, 30_000, 20);
  await waitUntil('the copies settled', () => w2.stats().alreadyIndexed >= 10 || w2.stats().head >= 140, 30_000, 20);
  await w2.stop();

  const publicKey = readPublicKey(publicKeyPath(join(dir, 'audit-checkpoint-key.json')));
  const report = await verifyTrail({ sink: new LocalSink(store), publicKey, checkpoints: { bus } });
  await bus.close();
  return { report, trail: readLocalTrail(store), lookedFirstRun, lookedSecondRun: b.looked(), w2: w2.stats() };
}

test('first deliveries skip the lookup: copies of stored events still leave each event once and a chain that verifies', async () => {
  const { report, trail, lookedFirstRun, lookedSecondRun } = await runCase(false);
  assert.equal(report.ok, true, formatVerifyReport(report));
  assert.equal(trail.length, 130, 'every event stored once');
  assert.equal(new Set(trail.map((e) => e.event.id)).size, 130);
  // Nothing asked on first deliveries; the copies the first writer had released were known without asking.
  assert.equal(lookedFirstRun, 0);
  assert.equal(lookedSecondRun, 0);
  // The second writer sealed the 10 unknown copies into new slots; their creates answered 409 and each slot got a duplicate filler.
  assert.equal(report.total, 140);
  assert.equal(report.fillers, 10);
});

test('lookupAll (the behaviour before issue 21) asks about every event and gives the copies no slot', async () => {
  const { report, trail, lookedFirstRun, lookedSecondRun } = await runCase(true);
  assert.equal(report.ok, true, formatVerifyReport(report));
  assert.equal(trail.length, 130);
  assert.ok(lookedFirstRun >= 100, `looked up ${lookedFirstRun}`);
  assert.ok(lookedSecondRun >= 40, `looked up ${lookedSecondRun}`);
  assert.equal(report.total, 130);
  assert.equal(report.fillers, 0);
});
