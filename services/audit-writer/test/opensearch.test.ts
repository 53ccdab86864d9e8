import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { type AuditEvent, STREAMS, auditStreamConfig } from '@agentgate/events';
import { freePort, type NatsServer, type OpenSearchNode, startNats, startOpenSearch } from '@agentgate/testkit';
import {
  type SearchSink,
  createSink,
  formatVerifyAllReport,
  formatVerifyReport,
  publicKeyPath,
  readPublicKey,
  startAuditWriter,
  verifyAllPartitions,
  verifyTrail,
} from '../src/index.js';
import { startEsShim } from './es-shim.js';
import { makeEvents, publishEvents, testLogger, tmp, waitUntil, writerConfig } from './helpers.js';
import { countDocs, docAtSeq, duplicateIds, osReq } from './os-helpers.js';

let os: OpenSearchNode;
before(async () => {
  os = await startOpenSearch();
});
after(async () => {
  await os?.close();
});

async function withNats<T>(fn: (nats: NatsServer) => Promise<T>): Promise<T> {
  const nats = await startNats();
  try {
    return await fn(nats);
  } finally {
    await nats.close();
  }
}

function osSink(prefix: string) {
  return [{ type: 'opensearch' as const, url: os.url, indexPrefix: prefix }];
}

async function verifyIndex(prefix: string, dir: string, bus: Parameters<typeof verifyTrail>[0]['checkpoints'] extends infer C ? C : never) {
  const sink = createSink({ type: 'opensearch', url: os.url, indexPrefix: prefix }, prefix);
  try {
    return await verifyTrail({ sink, publicKey: readPublicKey(publicKeyPath(join(dir, 'audit-checkpoint-key.json'))), checkpoints: bus });
  } finally {
    await sink.close();
  }
}

test('opensearch setup - templates and the ISM policy apply idempotently with strict ECS mappings', async () => {
  const sink = createSink({ type: 'opensearch', url: os.url, indexPrefix: 'setup-t' }, 'setup-t') as SearchSink;
  await sink.setup();
  await sink.setup();
  const t = await osReq(os.url, 'GET', '/_index_template/setup-t');
  const tpl = t.body.index_templates[0].index_template;
  assert.deepEqual(tpl.index_patterns, ['setup-t-*']);
  assert.equal(tpl.template.mappings.dynamic, 'strict');
  assert.equal(tpl.template.mappings.properties.source.properties.ip.type, 'ip');
  assert.equal((await osReq(os.url, 'GET', '/_index_template/setup-t-checkpoints')).status, 200);
  await sink.close();
});

test('opensearch setup - the events template leaves refresh to the node (no scheduled refresh on a shard nobody searches; a search still sees every document written)', async () => {
  const prefix = 'refresh-t';
  const sink = createSink({ type: 'opensearch', url: os.url, indexPrefix: prefix }, prefix);
  await sink.setup();
  const tpl = (await osReq(os.url, 'GET', `/_index_template/${prefix}`)).body.index_templates[0].index_template;
  // An explicit refresh_interval (even OpenSearch's own 1s) turns search-idle off: a refresh every second whether anyone searches or not.
  assert.equal(tpl.template.settings.index.refresh_interval, undefined);
  // One day: one index.
  const events = makeEvents(300, { startMs: Date.UTC(2025, 2, 3, 10, 0, 0) }).map((e) => ({ ...e, '@timestamp': '2025-03-03T10:00:00.000Z' }));
  const write = (from: number, to: number) => sink.write(events.slice(from, to).map((e) => ({ id: e.event.id, timestamp: e['@timestamp'], doc: e })));
  assert.ok((await write(0, 100)).every((o) => o.status === 'created'));
  const index = `${prefix}-v2-2025.03.03`;
  // Shorten the idle period the node waits for (30 s by default) so the test sees the shard go search-idle.
  assert.equal((await osReq(os.url, 'PUT', `/${index}/_settings`, { index: { search: { idle: { after: '1s' } } } })).status, 200);
  await osReq(os.url, 'POST', `/${index}/_refresh`);
  await new Promise((r) => setTimeout(r, 2500));
  const refreshes = async () => (await osReq(os.url, 'GET', `/${index}/_stats/refresh`)).body._all.primaries.refresh.total as number;
  assert.ok((await write(100, 300)).every((o) => o.status === 'created'));
  const before = await refreshes();
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(await refreshes(), before, 'no scheduled refresh of a search-idle shard');
  // A search without any _refresh (an analyst's, or bench/pipeline.ts's lag poller): the node refreshes the idle shard first.
  const found = await osReq(os.url, 'POST', `/${index}/_search`, { size: 0, track_total_hits: true });
  assert.equal(found.body.hits.total.value, 300);
  await sink.close();
});

test('opensearch writer - 10,000 events in, exactly 10,000 documents, each id once, and verify passes', async () => {
  await withNats(async (nats) => {
    const dir = tmp('10k');
    const prefix = 'ten-k';
    const bus = await createBus({ natsUrl: nats.url });
    const writer = await startAuditWriter(bus, writerConfig(dir, osSink(prefix), { indexPrefix: prefix }), testLogger());
    const events = makeEvents(10_000);
    const t0 = Date.now();
    await publishEvents(bus, events);
    await waitUntil('10k indexed', () => writer.stats().indexed === 10_000, 180_000);
    const secs = (Date.now() - t0) / 1000;
    console.log(`# 10k through NATS into OpenSearch: ${secs.toFixed(1)} s (${Math.round(10_000 / secs)} events/s, publish included)`);
    await writer.stop();
    assert.equal(await countDocs(os.url, prefix), 10_000);
    assert.equal(await duplicateIds(os.url, prefix), 0);
    const days = await osReq(os.url, 'GET', `/_cat/indices/${prefix}-*?format=json`);
    assert.ok(days.body.length >= 2, 'events span several daily indices');
    const report = await verifyIndex(prefix, dir, { bus });
    assert.equal(report.ok, true, formatVerifyReport(report));
    assert.equal(report.total, 10_000);
    assert.equal(report.checkpointSeq, 10_000);

    // Tampering, one kind at a time, undone after each check.
    const expectKind = async (kind: string, seq: number) => {
      const r = await verifyIndex(prefix, dir, { bus });
      assert.equal(r.ok, false);
      assert.ok(
        r.problems.some((p) => p.kind === kind && p.seq === seq),
        formatVerifyReport(r),
      );
    };
    const put = (d: { index: string; id: string; source: unknown }) => osReq(os.url, 'PUT', `/${d.index}/_doc/${d.id}?refresh=true`, d.source);
    const edited = await docAtSeq(os.url, prefix, 4321);
    await put({ ...edited, source: { ...edited.source, event: { ...edited.source.event, outcome: 'failure', reason: 'edited' } } });
    await expectKind('modified', 4321);
    await put(edited);

    const deleted = await docAtSeq(os.url, prefix, 777);
    await osReq(os.url, 'DELETE', `/${deleted.index}/_doc/${deleted.id}?refresh=true`);
    await expectKind('deleted', 777);
    await osReq(os.url, 'PUT', `/${deleted.index}/_create/${deleted.id}?refresh=true`, deleted.source);

    const a = await docAtSeq(os.url, prefix, 5000);
    const b = await docAtSeq(os.url, prefix, 5001);
    const withSeq = (d: typeof a, seq: number) => ({ ...d, source: { ...d.source, event: { ...d.source.event, sequence: seq } } });
    await put(withSeq(a, 5001));
    await put(withSeq(b, 5000));
    await expectKind('reordered', 5000);
    await put(a);
    await put(b);

    const tail = await osReq(os.url, 'POST', `/${prefix}-*/_search`, { size: 10, query: { range: { 'event.sequence': { gt: 9990 } } } });
    await osReq(os.url, 'POST', `/${prefix}-*/_delete_by_query?refresh=true`, { query: { range: { 'event.sequence': { gt: 9990 } } } });
    await expectKind('truncated', 9991);
    for (const h of tail.body.hits.hits) await osReq(os.url, 'PUT', `/${h._index}/_create/${h._id}?refresh=true`, h._source);

    const again = await verifyIndex(prefix, dir, { bus });
    assert.equal(again.ok, true, formatVerifyReport(again));

    // Every partition (named by the index's aggregation and the bus) and the document count (_count).
    const all = async () => {
      const sink = createSink({ type: 'opensearch', url: os.url, indexPrefix: prefix }, prefix);
      try {
        return await verifyAllPartitions({ sink, publicKey: readPublicKey(publicKeyPath(join(dir, 'audit-checkpoint-key.json'))), checkpoints: { bus } });
      } finally {
        await sink.close();
      }
    };
    const whole = await all();
    assert.equal(whole.verdict, 'ok', formatVerifyAllReport(whole));
    assert.deepEqual(
      whole.partitions.map((p) => p.partition),
      ['writer-0'],
    );
    assert.equal(whole.documents, 10_000);
    // A document written beside the chains (no agentgate.chain): no partition's walk reads it, the count does.
    const forged = await docAtSeq(os.url, prefix, 1234);
    const { chain: _chain, ...agentgate } = forged.source.agentgate;
    await osReq(os.url, 'PUT', `/${forged.index}/_create/forged-1?refresh=true`, {
      ...forged.source,
      event: { ...forged.source.event, id: 'forged-1', sequence: undefined },
      agentgate,
    });
    const inserted = await all();
    assert.equal(inserted.verdict, 'failed', formatVerifyAllReport(inserted));
    assert.equal(inserted.unchained, 1);
    await osReq(os.url, 'DELETE', `/${forged.index}/_doc/forged-1?refresh=true`);
    await bus.close();
  });
});

test('opensearch writer - a poison event goes to the DLQ with the reason, the others flow on and the chain still verifies', async () => {
  await withNats(async (nats) => {
    const dir = tmp('poison');
    const prefix = 'poison';
    const bus = await createBus({ natsUrl: nats.url });
    const writer = await startAuditWriter(bus, writerConfig(dir, osSink(prefix), { indexPrefix: prefix }), testLogger());
    const events = makeEvents(200);
    const poison: AuditEvent = { ...events[100]!, source: { ip: 'not-an-ip' } };
    events[100] = poison;
    await publishEvents(bus, events);
    await waitUntil('199 indexed + 1 dead letter', () => writer.stats().indexed === 199 && writer.stats().deadLettered === 1);
    await writer.stop();
    const info = await bus.streams.info(STREAMS.AUDIT_DLQ.name);
    assert.equal(info.messages, 1);
    const dl = (await bus.streams.get(STREAMS.AUDIT_DLQ.name, info.lastSeq))!.json<{ reason: string; event: AuditEvent }>();
    assert.equal(dl.event.event.id, poison.event.id);
    assert.match(dl.reason, /400 .*(mapper_parsing|document_parsing)/);
    assert.equal(await countDocs(os.url, prefix), 200, '199 events and one chain filler');
    const report = await verifyIndex(prefix, dir, { bus });
    assert.equal(report.ok, true, formatVerifyReport(report));
    assert.equal(report.fillers, 1);
    await bus.close();
  });
});

test('opensearch writer - on NATS: a burst is an unverified tail until the idle checkpoint, and a tail cut right after the last event is reported', async () => {
  await withNats(async (nats) => {
    const dir = tmp('tail');
    const prefix = 'tail-cut';
    const bus = await createBus({ natsUrl: nats.url });
    const start = (idleMs: number) =>
      startAuditWriter(
        bus,
        writerConfig(dir, osSink(prefix), { indexPrefix: prefix, checkpoint: { everyEvents: 100_000, everySeconds: 3600, idleMs } }),
        testLogger(),
      );
    let writer = await start(2000);
    try {
      await publishEvents(bus, makeEvents(300));
      await waitUntil('300 indexed', () => writer.stats().indexed === 300, 60_000, 20);
      const early = await verifyIndex(prefix, dir, { bus });
      assert.equal(early.verdict, 'unverified-tail', formatVerifyReport(early));
      assert.equal(early.busHead, 300);
      await waitUntil('the idle checkpoint', async () => (await verifyIndex(prefix, dir, { bus })).verdict === 'ok', 15_000, 200);
      await writer.stop();

      // The same chain, continued by a writer whose idle checkpoint cannot come during the test:
      // a second burst, cut right after its last event, is witnessed only by the head in NATS KV.
      writer = await start(600_000);
      await publishEvents(bus, makeEvents(100, { startMs: Date.UTC(2025, 0, 5) }));
      await waitUntil('100 more indexed', () => writer.stats().indexed === 100, 60_000, 20);
      await osReq(os.url, 'POST', `/${prefix}-*/_refresh`);
      await osReq(os.url, 'POST', `/${prefix}-*/_delete_by_query?refresh=true`, { query: { range: { 'event.sequence': { gt: 390 } } } });
      const cut = await verifyIndex(prefix, dir, { bus });
      assert.equal(cut.verdict, 'failed', formatVerifyReport(cut));
      assert.equal(cut.checkpointSeq, 300);
      assert.deepEqual(
        cut.problems.map((p) => `${p.kind}@${p.seq}`),
        ['truncated@391'],
        formatVerifyReport(cut),
      );
      assert.match(cut.problems[0]!.detail, /head on the bus records 400 written and confirmed \(10 missing\)/);
    } finally {
      await writer.stop();
      await bus.close();
    }
  });
});

function spawnWriter(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=agentgate-source', '--import', 'tsx', join(import.meta.dirname, 'fixtures/writer-child.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`writer child exited ${code}`)));
  });
}

test('opensearch writer - SIGKILL mid-batch and a restart still give exactly once and an unforked chain', async () => {
  await withNats(async (nats) => {
    const dir = tmp('kill');
    const prefix = 'killed';
    const env = { NATS_URL: nats.url, OS_URL: os.url, PREFIX: prefix, DATA_DIR: dir };
    const bus = await createBus({ natsUrl: nats.url });
    await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_CLEAN, { maxBytes: 1024 * 1024 * 1024, replicas: 1 }));
    const events = makeEvents(6000);
    const publishing = publishEvents(bus, events);
    let child = await spawnWriter(env);
    for (const at of [1500, 3500]) {
      await waitUntil(`${at} indexed`, async () => (await countDocs(os.url, prefix)) >= at, 120_000, 50);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      child = await spawnWriter(env);
    }
    await publishing;
    await waitUntil('6000 indexed', async () => (await countDocs(os.url, prefix)) >= 6000, 120_000);
    // Let redeliveries (ack wait 3 s) come back and prove they do not duplicate.
    await new Promise((r) => setTimeout(r, 5000));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    assert.equal(await countDocs(os.url, prefix), 6000);
    assert.equal(await duplicateIds(os.url, prefix), 0);
    const report = await verifyIndex(prefix, dir, { bus });
    assert.equal(report.ok, true, formatVerifyReport(report));
    assert.equal(report.total, 6000);
    await bus.close();
  });
});

test('opensearch writer - a sink of several nodes (one of them down): every event indexed once through the node that answers, and verify passes', async () => {
  const dir = tmp('nodes');
  const prefix = 'nodes';
  // Nothing listens on the first node's port: the client fails there, the writer retries, the client moves on.
  const down = `http://127.0.0.1:${await freePort()}`;
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const sinks = [{ type: 'opensearch' as const, url: [down, os.url], indexPrefix: prefix }];
  const writer = await startAuditWriter(bus, writerConfig(dir, sinks, { indexPrefix: prefix }), testLogger());
  await publishEvents(bus, makeEvents(600));
  await waitUntil('600 indexed', () => writer.stats().indexed === 600, 120_000);
  await writer.stop();
  assert.equal(await countDocs(os.url, prefix), 600);
  assert.equal(await duplicateIds(os.url, prefix), 0);
  const sink = createSink(sinks[0]!, prefix);
  try {
    const r = await verifyAllPartitions({ sink, publicKey: readPublicKey(publicKeyPath(join(dir, 'audit-checkpoint-key.json'))), checkpoints: { bus } });
    assert.notEqual(r.verdict, 'failed', formatVerifyAllReport(r));
    assert.equal(r.documents, 600);
  } finally {
    await sink.close();
  }
  await bus.close();
});

test('opensearch writer - OpenSearch stopped for 30 s under load, then restarted: nothing lost, nothing doubled', async () => {
  await withNats(async (nats) => {
    const dir = tmp('outage');
    const prefix = 'outage';
    const bus = await createBus({ natsUrl: nats.url });
    const writer = await startAuditWriter(bus, writerConfig(dir, osSink(prefix), { indexPrefix: prefix }), testLogger(), { stopTimeoutMs: 30_000 });
    const events = makeEvents(4000);
    // Steady load: 100 events every 100 ms while the node goes away and comes back.
    const load = (async () => {
      for (let i = 0; i < events.length; i += 100) {
        await publishEvents(bus, events.slice(i, i + 100));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await waitUntil('500 indexed', () => writer.stats().indexed >= 500);
    await os.stop();
    const downAt = Date.now();
    const during = writer.stats().indexed;
    await new Promise((r) => setTimeout(r, 30_000));
    assert.equal(writer.stats().indexed, during, 'nothing is acked while the index is down');
    await os.start();
    console.log(`# outage: down ${((Date.now() - downAt) / 1000).toFixed(0)} s, retries ${writer.stats().retries}`);
    try {
      await load;
      // The index itself, not the writer's counters: a redelivery during the outage (ack wait passed) is counted
      // again as already indexed, so indexed + alreadyIndexed can reach 4000 while the last batches are still
      // on their way (seen once at load 14: 3,600 in the index when the counters said 4,000).
      await waitUntil('4000 documents in the index', async () => (await countDocs(os.url, prefix)) >= 4000, 120_000, 1000);
      await writer.stop();
      assert.equal(await countDocs(os.url, prefix), 4000);
      assert.equal(await duplicateIds(os.url, prefix), 0);
      const report = await verifyIndex(prefix, dir, { bus });
      assert.equal(report.ok, true, formatVerifyReport(report));
    } finally {
      await writer.stop();
      await bus.close();
    }
  });
});

test('elasticsearch sink - the official client writes, reads back and verifies through the test-only header shim', async () => {
  const shim = await startEsShim(os.url);
  const dir = tmp('es');
  const prefix = 'es-sink';
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const sinks = [{ type: 'elasticsearch' as const, url: shim.url, indexPrefix: prefix }];
  const writer = await startAuditWriter(bus, writerConfig(dir, sinks, { indexPrefix: prefix }), testLogger());
  const events = makeEvents(300, { session: 'es-session' });
  await publishEvents(bus, events);
  await waitUntil('300 indexed', () => writer.stats().indexed === 300);
  await writer.stop();
  assert.equal(await countDocs(os.url, prefix), 300);
  const sink = createSink(sinks[0]!, prefix);
  const trail = await sink.readTrail({ sessionId: 'es-session' });
  assert.equal(trail.length, 300);
  const r = await verifyTrail({ sink, publicKey: readPublicKey(publicKeyPath(join(dir, 'audit-checkpoint-key.json'))), checkpoints: { bus } });
  assert.equal(r.ok, true, formatVerifyReport(r));
  await sink.close();
  await bus.close();
  await shim.close();
});
