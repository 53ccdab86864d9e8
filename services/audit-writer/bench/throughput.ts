/**
 * Audit writer throughput against a tuned plain `_bulk` loader, side by side on one OpenSearch
 * node in one run (issue 21: the writer's goal is ≥ 0.9× the plain loader).
 *
 * - plain loader: the same events, serialised once per request, `create` into the same daily
 *   indices, batches of `plainBatch` with `plainInFlight` bulk requests in flight; no stream, no
 *   chain, no ack. It runs twice (before and after the writer) and the faster run is the baseline.
 * - audit writer: the whole writer (fetch from AUDIT_CLEAN on a real JetStream, decode, `_mget`,
 *   seal, reserve in KV, bulk create, ack, release, checkpoints) draining a backlog of the same
 *   events; its process CPU per event is measured with `process.cpuUsage()` (the bench process
 *   only waits meanwhile). OpenSearch's own CPU per document (node stats) is printed for both.
 *
 * Runs the BUILT code (tsx's helpers distort profiles): `npm run bench -w @agentgate/audit-writer`
 * builds the writer and its dependencies, compiles this file to `bench/dist/`, and runs it:
 *
 *   npm run bench -w @agentgate/audit-writer [-- <events> <writerBatch> <plainBatch> <plainInFlight>]
 *   BENCH_PROFILE=/tmp/writer.cpuprofile node services/audit-writer/bench/dist/throughput.js   # the writer's run profiled
 *   BENCH_LOOKUP_ALL=1 node services/audit-writer/bench/dist/throughput.js   # first deliveries looked up too (as before issue 21)
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditWriterConfig, createSink, dailyIndex, publicKeyPath, readPublicKey, startAuditWriter, verifyTrail } from '@agentgate/audit-writer';
import { createBus } from '@agentgate/bus';
import { type AuditEvent, GENESIS_HASH, STREAMS, auditStreamConfig, cleanSubject, encodeEvent, sealEvent } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { startNats, startOpenSearch } from '@agentgate/testkit';
import { Client } from '@opensearch-project/opensearch';
import { benchEvents, pipelineEvents } from './events.js';
import { jvmThreadCpuMs, openSearchPid, processCpuUs, serverPid } from './jvm-cpu.js';

const N = Number(process.argv[2] ?? 20_000);
const BATCH = Number(process.argv[3] ?? 1000);
const PLAIN_BATCH = Number(process.argv[4] ?? 1000);
const PLAIN_IN_FLIGHT = Number(process.argv[5] ?? 3);
/** BENCH_SHAPE=bench: the package's mixed events over three days; default: the whole-pipeline bench's events (url.*, trace ids, one day). */
const SHAPE = process.env['BENCH_SHAPE'] ?? 'pipeline';
const makeEvents = (n: number, runId: string): AuditEvent[] => (SHAPE === 'bench' ? benchEvents(n, runId) : pipelineEvents(n, runId));

let osPid = 0;
/** OpenSearch JVM CPU (ms) so far, from /proc/<pid>/stat (node stats' process CPU lags up to a second). */
async function osCpuMs(_client: Client): Promise<number> {
  return processCpuUs(osPid) / 1000;
}

/** Get operations the node served (an `_mget` counts one per document). */
async function osGets(client: Client): Promise<number> {
  const r = await client.nodes.stats({ metric: ['indices'], index_metric: ['get'] });
  const nodes = Object.values((r.body as { nodes: Record<string, { indices: { get: { total: number } } }> }).nodes);
  return nodes.reduce((s, n) => s + n.indices.get.total, 0);
}

/** The tuned plain loader: `inFlight` bulk requests of `batch` docs at a time; seconds taken. */
async function plainLoad(client: Client, prefix: string, events: AuditEvent[], batch: number, inFlight: number): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < events.length) {
      const from = next;
      next += batch;
      let ndjson = '';
      for (const e of events.slice(from, from + batch)) {
        ndjson += `{"create":{"_index":${JSON.stringify(dailyIndex(prefix, e['@timestamp']))},"_id":${JSON.stringify(e.event.id)}}}\n${JSON.stringify(e)}\n`;
      }
      // The transport call the writer's sink makes too (an ndjson body, no client-side re-encoding).
      const r = await client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: ndjson });
      const body = r.body as { errors: boolean; items: Array<{ create: { status: number; error?: unknown } }> };
      if (body.errors) throw new Error(`plain bulk had errors: ${JSON.stringify(body.items.find((i) => i.create.error))}`);
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (performance.now() - t) / 1000;
}

/** The documents the writer stores for `events` (chain fields, hash, event.ingested), so both loaders index the same bytes. */
function sealedDocs(events: AuditEvent[]): AuditEvent[] {
  let prevHash = GENESIS_HASH;
  const ingested = new Date().toISOString();
  return events.map((e, i) => {
    const sealed = sealEvent(e, { partition: 'writer-0', seq: i + 1, prevHash });
    prevHash = sealed.event.hash!;
    return { ...sealed, event: { ...sealed.event, ingested } };
  });
}

/** With BENCH_PROFILE=<file.cpuprofile>: a CPU profile of the writer's run only (the loaders and verify left out). */
async function startProfile(): Promise<{ stop(): Promise<void> } | undefined> {
  const file = process.env['BENCH_PROFILE'];
  if (!file) return undefined;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`writer CPU profile: ${file}`);
    },
  };
}

async function waitUntil(what: string, fn: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const os = await startOpenSearch();
osPid = openSearchPid(os.dir);
const nats = await startNats();
// No client retry: a retried bulk would answer 409s and hide a timeout.
const client = new Client({ node: os.url, maxRetries: 0, requestTimeout: 120_000 });
try {
  // The same templates for every run, so mapping cost is equal.
  for (const p of ['bench-warm', 'bench-plain-a', 'bench-plain-b', 'bench-writer']) {
    const s = createSink({ type: 'opensearch', url: os.url, indexPrefix: p }, p);
    await s.setup();
    await s.close();
  }
  // Warm the node and the client (JIT on both sides; the node's C1-compiled indexing path is several times
  // slower in its first ~20k documents) with events the measured runs do not use.
  // BENCH_WARM documents (default 60,000): os-cost.ts found the node's JIT compiler still taking more CPU per document
  // than its write threads 80k documents in; a short warm-up favours whichever run comes last (the second plain run).
  const warmDocs = Number(process.env['BENCH_WARM'] ?? Math.max(N, 60_000));
  for (let i = 0; i < warmDocs; i += 20_000) {
    await plainLoad(client, 'bench-warm', sealedDocs(makeEvents(Math.min(20_000, warmDocs - i), `warm${i}`)), PLAIN_BATCH, PLAIN_IN_FLIGHT);
  }

  // The node's own background CPU (GC, scheduled tasks; large on a loaded machine), per ms of wall time:
  // subtracted from each run's OpenSearch CPU, so a slower run is not charged for the node idling longer.
  // Process stats refresh once a second, hence the pauses.
  await new Promise((r) => setTimeout(r, 1500));
  const idle0 = await osCpuMs(client);
  const idleT = performance.now();
  await new Promise((r) => setTimeout(r, 3000));
  const idlePerMs = ((await osCpuMs(client)) - idle0) / (performance.now() - idleT);

  const plainRun = async (prefix: string, runId: string) => {
    const events = sealedDocs(makeEvents(N, runId));
    await new Promise((r) => setTimeout(r, 1500));
    const jit0 = jvmThreadCpuMs(osPid).jit;
    const cpu0 = await osCpuMs(client);
    const s = await plainLoad(client, prefix, events, PLAIN_BATCH, PLAIN_IN_FLIGHT);
    await new Promise((r) => setTimeout(r, 1500));
    return { s, osMs: (await osCpuMs(client)) - cpu0 - idlePerMs * (s * 1000 + 1500), jitMs: jvmThreadCpuMs(osPid).jit - jit0 };
  };
  const plainA = await plainRun('bench-plain-a', 'a');

  const bus = await createBus({ natsUrl: nats.url });
  const dir = mkdtempSync(join(tmpdir(), 'aw-bench-'));
  const cfg: AuditWriterConfig = {
    audit: {
      sinks: [{ type: 'opensearch', url: os.url, indexPrefix: 'bench-writer' }],
      indexPrefix: 'bench-writer',
      partition: 'writer-0',
      ackWaitMs: 30_000,
      checkpoint: { everyEvents: 1000, everySeconds: 60, idleMs: 2000 },
      batch: { maxEvents: BATCH, maxBytes: 5 * 1024 * 1024, maxWaitMs: 200 },
    },
    bus: { dataDir: dir, streams: { maxBytes: 1024 * 1024 * 1024, replicas: 1 } },
  };
  await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_CLEAN, cfg.bus.streams));
  // The backlog is in the stream before the writer starts.
  const events = makeEvents(N, 'w');
  for (let i = 0; i < events.length; i += 256) {
    await Promise.all(events.slice(i, i + 256).map((e) => bus.streams.publish(cleanSubject(e), encodeEvent(e), { msgId: e.event.id })));
  }
  const profile = await startProfile();
  await new Promise((r) => setTimeout(r, 1500));
  const jit0 = jvmThreadCpuMs(osPid).jit;
  const osCpu0 = await osCpuMs(client);
  const gets0 = await osGets(client);
  const natsPid = serverPid('nats-server', nats.storeDir);
  const nats0 = processCpuUs(natsPid);
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  // BENCH_LOOKUP_ALL=1: every event looked up in the index before sealing (the writer before issue 21's first-delivery rule).
  const lookupAll = process.env['BENCH_LOOKUP_ALL'] === '1';
  const writer = await startAuditWriter(bus, cfg, createLogger({ name: 'bench', level: 'warn' }), { lookupAll });
  await waitUntil('the writer drained the stream', () => writer.stats().indexed === N, 600_000);
  const writerS = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const natsUs = processCpuUs(natsPid) - nats0;
  await new Promise((r) => setTimeout(r, 1500));
  const writerOsMs = (await osCpuMs(client)) - osCpu0 - idlePerMs * (writerS * 1000 + 1500);
  const writerGets = (await osGets(client)) - gets0;
  const writerJitMs = jvmThreadCpuMs(osPid).jit - jit0;
  const stats = writer.stats();
  await writer.stop();
  await profile?.stop();

  const plainB = await plainRun('bench-plain-b', 'b');

  // Not timed: the trail the writer left must verify (every event, one chain, no gap).
  const sink = createSink({ type: 'opensearch', url: os.url, indexPrefix: 'bench-writer' }, 'bench-writer');
  const report = await verifyTrail({ sink, publicKey: readPublicKey(publicKeyPath(join(dir, 'audit-checkpoint-key.json'))), checkpoints: { bus } });
  await sink.close();
  await bus.close();

  const plainS = Math.min(plainA.s, plainB.s);
  const plainBest = plainA.s <= plainB.s ? plainA : plainB;
  const plainOsMs = plainBest.osMs;
  const plain = N / plainS;
  const w = N / writerS;
  const usPerEvent = ((cpu.user + cpu.system) / N).toFixed(0);
  console.log(`load: ${readFileSync('/proc/loadavg', 'utf8').trim()}; OpenSearch idle ${(idlePerMs * 1000).toFixed(0)} ms CPU/s (subtracted below)`);
  console.log(
    `events: ${N}, writer batch: ${BATCH}${lookupAll ? ' (lookupAll)' : ''}, plain loader: ${PLAIN_BATCH} docs × ${PLAIN_IN_FLIGHT} in flight; one OpenSearch node (heap 1g), JetStream file storage, ${SHAPE} events, node warmed with ${warmDocs} documents`,
  );
  console.log(
    `plain _bulk loader : ${plain.toFixed(0).padStart(7)} docs/s   (runs ${plainA.s.toFixed(2)} s / ${plainB.s.toFixed(2)} s; OpenSearch CPU ${((plainOsMs * 1000) / N).toFixed(0)} µs/doc, of it JIT compiling ${((plainBest.jitMs * 1000) / N).toFixed(0)})`,
  );
  console.log(
    `audit writer       : ${w.toFixed(0).padStart(7)} events/s (${writerS.toFixed(2)} s; writer CPU ${usPerEvent} µs/event; OpenSearch CPU ${((writerOsMs * 1000) / N).toFixed(0)} µs/event, of it JIT compiling ${((writerJitMs * 1000) / N).toFixed(0)}; nats-server CPU ${(natsUs / N).toFixed(0)} µs/event; ${stats.batches} batches; ${writerGets} gets)`,
  );
  console.log(`ratio              : ${(w / plain).toFixed(2)}× the plain loader (goal ≥ 0.90×)`);
  console.log(`verify             : ${report.verdict}, ${report.total} documents, ${report.problems.length} problems`);
  if (report.total !== N || report.problems.length > 0) process.exitCode = 1;
} finally {
  await client.close();
  await nats.close();
  await os.close();
}
