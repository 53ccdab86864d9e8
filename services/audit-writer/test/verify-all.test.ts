import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { formatVerifyAllReport, LocalSink, publicKeyPath, readPublicKey, startAuditWriter, verifyAllPartitions } from '../src/index.js';
import { makeEvents, publishEvents, testLogger, tmp, waitUntil, writerConfig } from './helpers.js';

/** Two writers (partitions p-a and p-b) share one bus and one local store; 400 events split between them. */
async function twoPartitions() {
  const dir = tmp('verify-all');
  const store = join(dir, 'audit');
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const sinks = [{ type: 'local' as const, path: store }];
  const idle = { checkpoint: { everyEvents: 1000, everySeconds: 60, idleMs: 300 } };
  // One after the other: the first creates the checkpoint key both sign with.
  const a = await startAuditWriter(bus, writerConfig(dir, sinks, { partition: 'p-a', ...idle }), testLogger());
  const b = await startAuditWriter(bus, writerConfig(dir, sinks, { partition: 'p-b', ...idle }), testLogger());
  await publishEvents(bus, makeEvents(400));
  await waitUntil('all indexed', () => a.stats().indexed + b.stats().indexed === 400);
  const publicKey = readPublicKey(publicKeyPath(join(dir, 'audit-checkpoint-key.json')));
  const verify = () => verifyAllPartitions({ sink: new LocalSink(store), publicKey, checkpoints: { bus } });
  // Each writer signs its idle checkpoint shortly after its last event.
  await waitUntil('both partitions signed', async () => (await verify()).verdict === 'ok', 20_000);
  await a.stop();
  await b.stop();
  return { store, bus, verify, split: [a.stats().indexed, b.stats().indexed] };
}

function storeLines(store: string): Array<{ file: string; lines: string[] }> {
  return readdirSync(store)
    .filter((f) => f.startsWith('audit-'))
    .map((f) => ({ file: join(store, f), lines: readFileSync(join(store, f), 'utf8').split('\n').filter(Boolean) }));
}

test('verify --all-partitions - walks every partition and counts the trail: intact passes; a document outside every chain fails', async () => {
  const { store, bus, verify, split } = await twoPartitions();
  assert.ok(split[0]! > 0 && split[1]! > 0, `both writers indexed events (${split.join(' / ')})`);
  const ok = await verify();
  assert.equal(ok.verdict, 'ok', formatVerifyAllReport(ok));
  assert.deepEqual(
    ok.partitions.map((p) => [p.partition, p.total]),
    [
      ['p-a', split[0]],
      ['p-b', split[1]],
    ],
  );
  assert.equal(ok.documents, 400);
  assert.equal(ok.unchained, 0);
  assert.match(formatVerifyAllReport(ok), /400 documents, every one in a chain partition\nOK: every partition is intact/);

  // A forged event without a chain: no partition's walk sees it; only the count does.
  const [first] = storeLines(store);
  assert.ok(first);
  const forged = JSON.parse(first.lines[0]!) as { id: string; doc: { event: { id: string }; agentgate: { chain?: unknown } } };
  forged.id = 'forged-0001';
  forged.doc.event.id = 'forged-0001';
  delete forged.doc.agentgate.chain;
  writeFileSync(first.file, `${[...first.lines, JSON.stringify(forged)].join('\n')}\n`);
  const bad = await verify();
  assert.equal(bad.verdict, 'failed', formatVerifyAllReport(bad));
  assert.equal(bad.unchained, 1);
  assert.ok(
    bad.partitions.every((p) => p.verdict === 'ok'),
    'each chain on its own is still intact',
  );
  assert.match(formatVerifyAllReport(bad), /INSERTED: 1 of 401 documents belong to no chain partition\nFAILED/);
  await bus.close();
});

test('verify --all-partitions - a partition whose documents were all deleted is still walked (named by the bus) and fails as truncated', async () => {
  const { store, bus, verify, split } = await twoPartitions();
  for (const f of storeLines(store)) {
    const kept = f.lines.filter((l) => (JSON.parse(l) as { doc: { agentgate: { chain?: { partition?: string } } } }).doc.agentgate.chain?.partition !== 'p-b');
    writeFileSync(f.file, kept.length ? `${kept.join('\n')}\n` : '');
  }
  const r = await verify();
  assert.equal(r.verdict, 'failed', formatVerifyAllReport(r));
  assert.equal(r.documents, split[0]);
  const pb = r.partitions.find((p) => p.partition === 'p-b');
  assert.ok(pb, `p-b is listed although the trail holds none of its documents: ${r.partitions.map((p) => p.partition).join()}`);
  assert.equal(pb.total, 0);
  assert.ok(
    pb.problems.some((p) => p.kind === 'truncated'),
    JSON.stringify(pb.problems),
  );
  assert.equal(r.partitions.find((p) => p.partition === 'p-a')?.verdict, 'ok');
  await bus.close();
});
