/**
 * Audit pipeline throughput: events/s sustained from the AUDIT_CLEAN stream (real NATS
 * JetStream) into a real OpenSearch node by the audit writer (seal, chain, reserve in KV,
 * _mget, bulk create, ack), beside a plain bulk loader (same events, same batch size,
 * one bulk in flight, no stream/chain/ack) into the same node in the same run.
 *
 *   npm run bench -w @agentgate/audit-writer [-- <events> <batch>]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus } from '@agentgate/bus';
import { STREAMS, auditStreamConfig } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { startNats, startOpenSearch } from '@agentgate/testkit';
import { Client } from '@opensearch-project/opensearch';
import { createSink, dailyIndex, startAuditWriter } from '../src/index.js';
import { makeEvents, publishEvents, waitUntil, writerConfig } from '../test/helpers.js';

const N = Number(process.argv[2] ?? 20_000);
const BATCH = Number(process.argv[3] ?? 500);
const os = await startOpenSearch();
const nats = await startNats();
try {
  const events = makeEvents(N);
  // The same templates for both runs, so mapping cost is equal.
  for (const p of ['bench-plain', 'bench-writer']) {
    const s = createSink({ type: 'opensearch', url: os.url, indexPrefix: p }, p);
    await s.setup();
    await s.close();
  }

  const client = new Client({ node: os.url });
  let t = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const body = events.slice(i, i + BATCH).flatMap((e) => [{ create: { _index: dailyIndex('bench-plain', e['@timestamp']), _id: e.event.id } }, e]);
    const r = await client.bulk({ body });
    if (r.body.errors) throw new Error('plain bulk had errors');
  }
  const plainS = (performance.now() - t) / 1000;

  const bus = await createBus({ natsUrl: nats.url });
  const dir = mkdtempSync(join(tmpdir(), 'aw-bench-'));
  const cfg = writerConfig(dir, [{ type: 'opensearch', url: os.url, indexPrefix: 'bench-writer' }], {
    indexPrefix: 'bench-writer',
    batch: { maxEvents: BATCH, maxBytes: 5 * 1024 * 1024, maxWaitMs: 200 },
  });
  await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_CLEAN, cfg.bus.streams));
  await publishEvents(bus, events); // the backlog is in the stream before the writer starts
  t = performance.now();
  const writer = await startAuditWriter(bus, cfg, createLogger({ name: 'bench', level: 'warn' }));
  await waitUntil('writer drained the stream', () => writer.stats().indexed === N, 600_000, 20);
  const writerS = (performance.now() - t) / 1000;
  await writer.stop();
  await bus.close();
  await client.close();

  const plain = N / plainS;
  const w = N / writerS;
  console.log(`events: ${N}, batch: ${BATCH}, OpenSearch 2.19 single node (heap 1g), NATS JetStream file storage, 2-core machine`);
  console.log(`plain bulk loader  : ${plain.toFixed(0).padStart(7)} events/s (${plainS.toFixed(2)} s)`);
  console.log(`audit writer       : ${w.toFixed(0).padStart(7)} events/s (${writerS.toFixed(2)} s)  = ${((w / plain) * 100).toFixed(0)}% of plain`);
} finally {
  await nats.close();
  await os.close();
}
