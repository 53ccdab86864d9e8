/**
 * What the `_mget` before sealing costs OpenSearch, beside the bulk create it precedes (issue 21):
 * OpenSearch's process CPU for `_mget` of 1,000 ids not yet stored (what the writer asked before
 * every batch of first deliveries) and for the bulk create of 1,000 such documents, alternating,
 * on one warmed node (idle CPU subtracted). Built like throughput.ts: `node bench/dist/mget-cost.js [batches per block]`.
 */
import { readFileSync } from 'node:fs';
import { createSink, dailyIndex } from '@agentgate/audit-writer';
import { type AuditEvent, GENESIS_HASH, sealEvent } from '@agentgate/events';
import { startOpenSearch } from '@agentgate/testkit';
import { Client } from '@opensearch-project/opensearch';
import { benchEvents } from './events.js';

const ROUNDS = Number(process.argv[2] ?? 10);
const PREFIX = 'bench-mget';

async function osCpuMs(client: Client): Promise<number> {
  const r = await client.nodes.stats({ metric: ['process'] });
  const nodes = Object.values((r.body as { nodes: Record<string, { process: { cpu: { total_in_millis: number } } }> }).nodes);
  return nodes.reduce((s, n) => s + n.process.cpu.total_in_millis, 0);
}

function sealed(events: AuditEvent[]): AuditEvent[] {
  let prev = GENESIS_HASH;
  return events.map((e, i) => {
    const s = sealEvent(e, { partition: 'writer-0', seq: i + 1, prevHash: prev });
    prev = s.event.hash!;
    return s;
  });
}

async function bulk(client: Client, docs: AuditEvent[]): Promise<void> {
  let body = '';
  for (const d of docs)
    body += `{"create":{"_index":${JSON.stringify(dailyIndex(PREFIX, d['@timestamp']))},"_id":${JSON.stringify(d.event.id)}}}\n${JSON.stringify(d)}\n`;
  const r = await client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: body });
  if ((r.body as { errors: boolean }).errors) throw new Error('bulk errors');
}

async function mget(client: Client, docs: AuditEvent[]): Promise<void> {
  const body = { docs: docs.map((d) => ({ _index: dailyIndex(PREFIX, d['@timestamp']), _id: d.event.id, _source: false })) };
  await client.transport.request({ method: 'POST', path: '/_mget', body });
}

const os = await startOpenSearch();
const client = new Client({ node: os.url, maxRetries: 0, requestTimeout: 120_000 });
try {
  const s = createSink({ type: 'opensearch', url: os.url, indexPrefix: PREFIX }, PREFIX);
  await s.setup();
  await s.close();
  // Warm up both paths (JIT) on documents the measurement does not use.
  const warm = sealed(benchEvents(20_000, 'warm'));
  for (let i = 0; i < warm.length; i += 1000) {
    await mget(client, warm.slice(i, i + 1000));
    await bulk(client, warm.slice(i, i + 1000));
  }
  // The node refreshes its process stats once a second: each phase is read after a pause, and the
  // CPU the node spends idle over the same wall time is subtracted.
  const pause = () => new Promise((r) => setTimeout(r, 1500));
  const phase = async (fn: () => Promise<void>): Promise<{ cpu: number; ms: number }> => {
    await pause();
    const c0 = await osCpuMs(client);
    const t0 = performance.now();
    await fn();
    await pause();
    return { cpu: (await osCpuMs(client)) - c0, ms: performance.now() - t0 };
  };
  const idle = await phase(async () => undefined);
  const idlePerMs = idle.cpu / idle.ms;
  let mgetMs = 0;
  let bulkMs = 0;
  for (let b = 0; b < 2; b++) {
    const docs = sealed(benchEvents(ROUNDS * 1000, `m${b}`));
    const m = await phase(async () => {
      for (let i = 0; i < docs.length; i += 1000) await mget(client, docs.slice(i, i + 1000));
    });
    const w = await phase(async () => {
      for (let i = 0; i < docs.length; i += 1000) await bulk(client, docs.slice(i, i + 1000));
    });
    mgetMs += m.cpu - idlePerMs * m.ms;
    bulkMs += w.cpu - idlePerMs * w.ms;
  }
  const n = 2 * ROUNDS * 1000;
  console.log(`load: ${readFileSync('/proc/loadavg', 'utf8').trim()}; OpenSearch idle ${(idlePerMs * 1000).toFixed(0)} ms CPU/s`);
  console.log(
    `OpenSearch CPU per document, ${n} documents in batches of 1,000: _mget of ids not stored ${((mgetMs * 1000) / n).toFixed(0)} µs, bulk create ${((bulkMs * 1000) / n).toFixed(0)} µs (the _mget adds ${((100 * mgetMs) / bulkMs).toFixed(0)}% to the write)`,
  );
} finally {
  await client.close();
  await os.close();
}
