import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Bus, createBus } from '@agentgate/bus';
import { sealEvent } from '@agentgate/events';
import { type AuditWriter, LocalSink, formatVerifyReport, publicKeyPath, readPublicKey, startAuditWriter, verifyTrail } from '../src/index.js';
import { makeEvents, publishEvents, testLogger, tmp, waitUntil, writerConfig } from './helpers.js';

interface Running {
  dir: string;
  store: string;
  bus: Bus;
  writer: AuditWriter;
  verify(): ReturnType<typeof verifyTrail>;
}

/** A writer on the local store with a given idle checkpoint delay; the periodic ones never come during a test. */
async function start(name: string, idleMs: number): Promise<Running> {
  const dir = tmp(name);
  const store = join(dir, 'audit');
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const writer = await startAuditWriter(
    bus,
    writerConfig(dir, [{ type: 'local', path: store }], {
      checkpoint: { everyEvents: 100_000, everySeconds: 3600, idleMs },
      batch: { maxEvents: 20, maxBytes: 1 << 20, maxWaitMs: 20 },
    }),
    testLogger(),
  );
  const publicKey = readPublicKey(publicKeyPath(join(dir, 'audit-checkpoint-key.json')));
  return { dir, store, bus, writer, verify: () => verifyTrail({ sink: new LocalSink(store), publicKey, checkpoints: { bus } }) };
}

/** Removes the documents at chain positions > `keep` from every daily file of the local store. */
function cutLocalTail(store: string, keep: number): number {
  let cut = 0;
  for (const f of readdirSync(store).filter((n) => n.startsWith('audit-'))) {
    const lines = readFileSync(join(store, f), 'utf8').split('\n').filter(Boolean);
    const kept = lines.filter((l) => (JSON.parse(l) as { doc: { event: { sequence: number } } }).doc.event.sequence <= keep);
    cut += lines.length - kept.length;
    writeFileSync(join(store, f), kept.map((l) => `${l}\n`).join(''));
  }
  return cut;
}

test('tail - an untouched trail right after a burst is an UNVERIFIED TAIL until the idle checkpoint lands, then OK', async () => {
  const idleMs = 3000;
  const r = await start('burst', idleMs);
  await publishEvents(r.bus, makeEvents(120));
  await waitUntil('120 indexed', () => r.writer.stats().indexed === 120, 30_000, 20);
  const indexedAt = Date.now();

  const early = await r.verify();
  assert.equal(early.verdict, 'unverified-tail', formatVerifyReport(early));
  assert.equal(early.ok, false);
  assert.deepEqual(early.problems, []);
  assert.equal(early.checkpointSeq, 0);
  assert.equal(early.unverifiedTail, 120);
  assert.equal(early.busHead, 120);
  assert.match(formatVerifyReport(early), /^UNVERIFIED TAIL 120 events: intact up to the signed checkpoint at 0/m);
  assert.doesNotMatch(formatVerifyReport(early), /^OK/m);

  let late = await r.verify();
  await waitUntil(
    'the idle checkpoint',
    async () => {
      late = await r.verify();
      return late.verdict === 'ok';
    },
    idleMs + 5000,
    100,
  );
  const after = Date.now() - indexedAt;
  assert.ok(after >= idleMs - 300, `the idle checkpoint waits for the head to be still (${after} ms)`);
  assert.equal(late.checkpointSeq, 120, formatVerifyReport(late));
  assert.match(formatVerifyReport(late), /OK: the audit trail is intact/);
  console.log(`# idle checkpoint covered the burst ${after} ms after its last event was indexed (idleMs ${idleMs})`);
  await r.writer.stop();
  await r.bus.close();
});

test('tail - a tail cut right after the last event (before any checkpoint) is reported from the head on the bus', async () => {
  // No checkpoint can cover the burst during this test: only the bus head witnesses it.
  const r = await start('cut', 600_000);
  await publishEvents(r.bus, makeEvents(80));
  await waitUntil('80 indexed', () => r.writer.stats().indexed === 80, 30_000, 20);
  assert.equal(cutLocalTail(r.store, 74), 6);

  const rep = await r.verify();
  assert.equal(rep.verdict, 'failed', formatVerifyReport(rep));
  assert.equal(rep.checkpointSeq, 0);
  const kinds = rep.problems.map((p) => `${p.kind}@${p.seq}`);
  assert.deepEqual(kinds, ['truncated@75']);
  assert.match(rep.problems[0]!.detail, /trail ends at 74; the chain head on the bus records 80 written and confirmed \(6 missing\)/);
  assert.match(formatVerifyReport(rep), /^FAILED: 1 problem/m);

  // Without the bus witness the same cut is still never OK: it is an unverified tail.
  const publicKey = readPublicKey(publicKeyPath(join(r.dir, 'audit-checkpoint-key.json')));
  const blind = await verifyTrail({ sink: new LocalSink(r.store), publicKey, checkpoints: { bus: r.bus }, head: false });
  assert.equal(blind.verdict, 'unverified-tail', formatVerifyReport(blind));
  await r.writer.stop();
  await r.bus.close();
});

test('tail - after the idle checkpoint, a cut tail is a signed truncation; a forged event past the head is an insertion', async () => {
  const r = await start('signed', 500);
  await publishEvents(r.bus, makeEvents(40));
  await waitUntil('40 indexed', () => r.writer.stats().indexed === 40, 30_000, 20);
  await waitUntil('idle checkpoint', async () => (await r.verify()).checkpointSeq === 40, 10_000, 100);
  await r.writer.stop();

  // A forged event chained correctly onto the head: the hashes link, but the writer never assigned position 41.
  const files = readdirSync(r.store)
    .filter((n) => n.startsWith('audit-'))
    .sort();
  const lines = files.flatMap((f) =>
    readFileSync(join(r.store, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ f, o: JSON.parse(l) })),
  );
  const last = lines.find((x) => x.o.doc.event.sequence === 40)!;
  const [forged] = makeEvents(1, { session: 'forged' });
  const sealed = sealEvent(forged!, { partition: 'writer-0', seq: 41, prevHash: last.o.doc.event.hash });
  const forgedFile = join(r.store, last.f);
  const original = readFileSync(forgedFile, 'utf8');
  writeFileSync(forgedFile, `${original}${JSON.stringify({ id: sealed.event.id, doc: sealed })}\n`);
  const ins = await r.verify();
  assert.deepEqual(
    ins.problems.map((p) => `${p.kind}@${p.seq}`),
    ['inserted@41'],
    formatVerifyReport(ins),
  );
  writeFileSync(forgedFile, original);

  assert.equal(cutLocalTail(r.store, 37), 3);
  const cut = await r.verify();
  assert.deepEqual(
    cut.problems.map((p) => `${p.kind}@${p.seq}`),
    ['truncated@38'],
  );
  assert.match(cut.problems[0]!.detail, /a signed checkpoint covers 40 and the chain head on the bus records 40 written and confirmed \(3 missing\)/);
  await r.bus.close();
});
