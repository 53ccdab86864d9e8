import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { STREAMS, cleanSubject } from '@agentgate/events';
import { LocalSink, readLocalTrail, readPublicKey, startAuditWriter, verifyTrail, formatVerifyReport, publicKeyPath } from '../src/index.js';
import { makeEvents, publishEvents, testLogger, tmp, waitUntil, writerConfig } from './helpers.js';

async function runLocal(n: number) {
  const dir = tmp('local');
  const store = join(dir, 'audit');
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const writer = await startAuditWriter(bus, writerConfig(dir, [{ type: 'local', path: store }]), testLogger());
  const events = makeEvents(n);
  await publishEvents(bus, events);
  await waitUntil('all indexed', () => writer.stats().indexed === n);
  await writer.stop();
  return { dir, store, bus, events };
}

function lines(store: string): Array<{ file: string; lines: string[] }> {
  return readdirSync(store)
    .filter((f) => f.startsWith('audit-'))
    .sort()
    .map((f) => ({ file: join(store, f), lines: readFileSync(join(store, f), 'utf8').split('\n').filter(Boolean) }));
}

test('local sink - every event once, chained, and an untouched trail verifies', async () => {
  const { dir, store, bus, events } = await runLocal(1200);
  const trail = readLocalTrail(store);
  assert.equal(trail.length, 1200);
  assert.equal(new Set(trail.map((e) => e.event.id)).size, 1200);
  assert.equal(readLocalTrail(store, { sessionId: 'sess-2' }).length, events.filter((e) => e.agentgate.session.id === 'sess-2').length);
  const publicKey = readPublicKey(publicKeyPath(join(dir, 'audit-checkpoint-key.json')));
  const report = await verifyTrail({ sink: new LocalSink(store), publicKey, checkpoints: { bus } });
  assert.equal(report.ok, true, formatVerifyReport(report));
  assert.equal(report.checkpointSeq, 1200);
  assert.match(formatVerifyReport(report), /OK: the audit trail is intact/);
  await bus.close();
});

test('local sink - verify reports an edit, a deletion, a swap and a truncated tail', async () => {
  const { dir, store, bus } = await runLocal(300);
  const publicKey = readPublicKey(publicKeyPath(join(dir, 'audit-checkpoint-key.json')));
  const files = lines(store);
  const all = files.flatMap((f) => f.lines.map((l) => ({ f, l, o: JSON.parse(l) })));
  const bySeq = (s: number) => all.find((x) => x.o.doc.event.sequence === s)!;
  const [edited, del, a, b] = [bySeq(50), bySeq(100), bySeq(150), bySeq(151)];
  edited.o.doc.event.reason = 'nothing to see';
  a.o.doc.event.sequence = 151;
  b.o.doc.event.sequence = 150;
  const dropped = new Set([del, ...Array.from({ length: 10 }, (_, i) => bySeq(291 + i))]);
  for (const f of files) {
    writeFileSync(
      f.file,
      all
        .filter((x) => x.f === f && !dropped.has(x))
        .map((x) => `${JSON.stringify(x.o)}\n`)
        .join(''),
    );
  }
  const r = await verifyTrail({ sink: new LocalSink(store), publicKey, checkpoints: { bus } });
  assert.equal(r.ok, false);
  const kinds = r.problems.map((p) => `${p.kind}@${p.seq}`);
  assert.ok(kinds.includes('modified@50'), kinds.join());
  assert.ok(kinds.includes('deleted@100'), kinds.join());
  assert.ok(kinds.includes('reordered@150') && kinds.includes('reordered@151'), kinds.join());
  assert.ok(kinds.includes('truncated@291'), kinds.join());
  assert.equal(r.problems.length, 5, kinds.join());
  await bus.close();
});

test('local sink - an invalid event goes to the dead-letter stream with its reason, the others flow on', async () => {
  const dir = tmp('dlq');
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const writer = await startAuditWriter(bus, writerConfig(dir, [{ type: 'local', path: join(dir, 'audit') }]), testLogger());
  const events = makeEvents(20);
  await publishEvents(bus, events.slice(0, 10));
  await bus.streams.publish(cleanSubject(events[0]!), '{"not":"an event"}', { msgId: 'poison-1' });
  await publishEvents(bus, events.slice(10));
  await waitUntil('20 indexed', () => writer.stats().indexed === 20);
  const info = await bus.streams.info(STREAMS.AUDIT_DLQ.name);
  assert.equal(info.messages, 1);
  const dl = (await bus.streams.get(STREAMS.AUDIT_DLQ.name, info.lastSeq))!.json<{ reason: string; raw: string }>();
  assert.match(dl.reason, /invalid event/);
  assert.equal(Buffer.from(dl.raw, 'base64').toString(), '{"not":"an event"}');
  await writer.stop();
  await bus.close();
});

test('local sink - a second writer on the same chain partition stops with ERR_CHAIN_CONFLICT (closed settles with it)', async () => {
  const dir = tmp('conflict');
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const cfg = writerConfig(dir, [{ type: 'local', path: join(dir, 'audit') }]);
  const a = await startAuditWriter(bus, cfg, testLogger());
  const b = await startAuditWriter(bus, cfg, testLogger());
  await publishEvents(bus, makeEvents(400));
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000));
  const first = await Promise.race([a.closed, b.closed, timeout]);
  assert.notEqual(first, 'timeout', 'one writer must detect the fork');
  assert.equal((first as { code?: string } | undefined)?.code, 'ERR_CHAIN_CONFLICT');
  await a.stop();
  await b.stop();
  await bus.close();
});
