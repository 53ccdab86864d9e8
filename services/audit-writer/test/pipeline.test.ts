import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { STREAMS, auditStreamConfig } from '@agentgate/events';
import { LocalSink, formatVerifyReport, readLocalTrail, readPublicKey, publicKeyPath, startAuditWriter, verifyTrail } from '../src/index.js';
import type { Sink, SinkDoc, WriteOutcome } from '../src/index.js';
import { makeEvents, publishEvents, testLogger, tmp, waitUntil, writerConfig } from './helpers.js';

/** A local sink whose writes take a while, counting how many run at once; `failOnce` breaks the given write call (1-based) once. */
function slowSink(path: string, failOnce: number[]): { sink: Sink; maxConcurrent: () => number; calls: () => number } {
  const inner = new LocalSink(path);
  let running = 0;
  let max = 0;
  let calls = 0;
  const sink: Sink = {
    kind: inner.kind,
    setup: () => inner.setup(),
    existing: (ids) => inner.existing(ids),
    writeCheckpoint: (cp) => inner.writeCheckpoint(cp),
    readCheckpoints: (partition) => inner.readCheckpoints(partition),
    readChain: (opts) => inner.readChain(opts),
    readTrail: (q) => inner.readTrail(q),
    partitions: () => inner.partitions(),
    countDocuments: () => inner.countDocuments(),
    close: () => inner.close(),
    write: (docs) => slowWrite(docs),
  };
  const slowWrite = async (docs: SinkDoc[]): Promise<WriteOutcome[]> => {
    const call = ++calls;
    max = Math.max(max, ++running);
    try {
      await new Promise((r) => setTimeout(r, 60));
      // Not ERR_SINK_UNAVAILABLE: writeAll gives the batch up, it stays unacked and comes back into its reserved slots.
      if (failOnce.includes(call)) throw new Error(`write ${call} broke`);
      return await inner.write(docs);
    } finally {
      running--;
    }
  };
  return { sink, maxConcurrent: () => max, calls: () => calls };
}

test('pipelined writer - several batches written at once, one failing mid-way: every event exactly once, one unbroken chain, verify OK', async () => {
  const dir = tmp('pipeline');
  const store = join(dir, 'audit');
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const { sink, maxConcurrent, calls } = slowSink(store, [3]);
  const cfg = writerConfig(dir, [{ type: 'local', path: store }], { ackWaitMs: 1500, batch: { maxEvents: 50, maxBytes: 5 * 1024 * 1024, maxWaitMs: 50 } });
  const events = makeEvents(600);
  // A backlog waiting before the writer starts: the first batches are full and go out together.
  await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_CLEAN, cfg.bus.streams));
  await publishEvents(bus, events);
  const writer = await startAuditWriter(bus, cfg, testLogger(), { sinks: [sink] });
  await waitUntil('all indexed', () => writer.stats().indexed === 600, 60_000, 50);
  await writer.stop();
  assert.ok(maxConcurrent() >= 2, `batches written at once: ${maxConcurrent()}`);
  assert.ok(calls() > 12, 'the failed batch was written again');
  const trail = readLocalTrail(store);
  assert.equal(trail.length, 600);
  assert.equal(new Set(trail.map((e) => e.event.id)).size, 600, 'no event twice');
  assert.deepEqual(
    trail.map((e) => e.event.sequence).sort((a, b) => a! - b!),
    Array.from({ length: 600 }, (_, i) => i + 1),
    'positions 1..600, no gap, none twice',
  );
  const publicKey = readPublicKey(publicKeyPath(join(dir, 'audit-checkpoint-key.json')));
  const report = await verifyTrail({ sink: new LocalSink(store), publicKey, checkpoints: { bus } });
  assert.equal(report.ok, true, formatVerifyReport(report));
  assert.equal(report.checkpointSeq, 600);
  await bus.close();
});
