import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BusError, InprocBus } from '@agentgate/bus';
import { type AuditEvent, buildActionEvent, decodeEvent, type Principal, STREAMS } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { AuditRecorder, INTENT_UNACKED } from '../src/pipeline/record.js';

const dir = mkdtempSync(join(tmpdir(), 'agentgate-recorder-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const principal: Principal = {
  issuer: 'https://issuer.test',
  subject: 'repo:acme/app',
  groups: [],
  claims: {},
  ci: { provider: 'github-actions', repository: 'acme/app', run: '1', attempt: '1' },
  sessionId: 'acme/app:1:1',
  expiresAt: 2_000_000_000,
};
function event(phase: 'requested' | 'completed' | 'failed', n: number, reason?: string): AuditEvent {
  const id = String(n).padStart(3, '0');
  return buildActionEvent({
    phase,
    principal,
    action: { id: `action-${id}`, kind: 'http.request', connection: 'api' },
    url: { path: `/api/n/${id}` },
    http: { request: { method: 'GET' }, ...(phase === 'completed' && { response: { status_code: 200 } }) },
    ...(reason !== undefined && { outcome: 'failure' as const, reason }),
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    assert.ok(Date.now() < end, `timed out: ${what}`);
    await sleep(20);
  }
}

test('recorder - outcomes the stream refuses are spooled and replayed in order once it has room; near the spool bound new actions are refused, past it outcomes are counted as lost', async () => {
  const bus = new InprocBus();
  const lines: string[] = [];
  const log = createLogger({ name: 'recorder', level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  const messages = (): string[] => lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  const eventSize = Buffer.byteLength(`${JSON.stringify(event('completed', 1))}\n`);
  const recorder = new AuditRecorder(
    bus,
    {
      timeoutMs: 1000,
      stream: { maxBytes: 10_000_000, maxMsgs: 4, replicas: 1, fillAlerts: [0.5, 1] },
      spool: { dir: join(dir, 'spool'), maxBytes: eventSize * 20 },
      fillIntervalMs: 20,
    },
    log,
  );
  await recorder.start();
  for (const n of [1, 2, 3, 4]) await recorder.record(event('requested', n));
  await assert.rejects(recorder.record(event('requested', 5)), (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'ERR_AUDIT_UNAVAILABLE');
    assert.match((err as Error).message, /audit stream is full/);
    return true;
  });
  for (const n of [1, 2, 3, 4]) recorder.recordLater(event('completed', n));
  await until('four outcomes spooled', async () => (await recorder.health()).spool?.events === 4);
  const full = await recorder.health();
  assert.equal(full.ready, false, 'not ready while the raw stream is full');
  assert.deepEqual(
    full.streams.map((f) => [f.stream, f.ratio]),
    [[STREAMS.AUDIT_RAW.name, 1]],
  );
  await until('the fill alert', () => messages().includes('audit stream nearly full: requests are refused once it is full'));
  assert.equal(
    messages().filter((m) => m === 'audit outcome spooled to disk; replayed once the bus takes it').length,
    1,
    'one warning per outage, not one per event',
  );

  // The masking service's place: a consumer that takes events off the work queue.
  const consumer = await bus.streams.consumer(STREAMS.AUDIT_RAW.name, { durable: 'masking' });
  const seen: string[] = [];
  const take = async (): Promise<void> => {
    for (const m of await consumer.fetch({ batch: 2, expiresMs: 20 })) {
      const e = decodeEvent(m.data);
      seen.push(`${e.agentgate.action.phase}:${e.agentgate.action.id.slice(-1)}`);
      await m.ack();
    }
  };
  await until('the spool replayed', async () => {
    await take();
    return (await recorder.health()).spool?.events === 0 && (await bus.streams.info(STREAMS.AUDIT_RAW.name)).messages === 0;
  });
  assert.deepEqual(
    seen,
    ['requested:1', 'requested:2', 'requested:3', 'requested:4', 'completed:1', 'completed:2', 'completed:3', 'completed:4'],
    'replayed in order',
  );
  assert.equal((await recorder.health()).ready, true);
  await until('the level back down', () => messages().includes('audit stream level back below the alert threshold'));

  // The bound: fill the stream again, then the spool up to its reserve.
  for (const n of [6, 7, 8, 9]) await recorder.record(event('requested', n));
  for (let n = 10; n < 28; n++) recorder.recordLater(event('completed', n));
  await until('18 spooled', async () => (await recorder.health()).spool?.events === 18);
  await assert.rejects(recorder.record(event('requested', 40)), (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'ERR_AUDIT_UNAVAILABLE');
    assert.match((err as Error).message, /outcome spool is full; request refused \(no record, no action\)/);
    return true;
  });
  assert.equal((await recorder.health()).ready, false);
  for (let n = 28; n < 32; n++) recorder.recordLater(event('completed', n));
  await until('2 spooled, 2 lost', async () => (await recorder.health()).spool?.dropped === 2);
  assert.equal((await recorder.health()).spool?.events, 20);
  assert.equal(messages().filter((m) => m === 'audit outcome lost: the outcome spool is full').length, 2);
  const lost = lines
    .map((l) => JSON.parse(l) as { msg: string; level: string; eventId?: string })
    .filter((l) => l.msg === 'audit outcome lost: the outcome spool is full');
  assert.ok(
    lost.every((l) => l.level === 'error' && typeof l.eventId === 'string'),
    'logged at error with the event id',
  );

  await until('everything replayed', async () => {
    await take();
    return (await recorder.health()).spool?.events === 0;
  });
  await recorder.settle();
  await bus.drain();
});

test('recorder - an intent whose acknowledgement was lost gets its outcome (refused) on the record; one certainly not stored gets none', async () => {
  const bus = new InprocBus();
  const log = createLogger({ name: 'recorder', level: 'silent' });
  const recorder = new AuditRecorder(
    bus,
    { timeoutMs: 1000, stream: { maxBytes: 10_000_000, replicas: 1, fillAlerts: [0.5] }, spool: { dir: join(dir, 'spool-unacked'), maxBytes: 1_000_000 } },
    log,
  );
  await recorder.start();
  // What NATS dying between storing a message and answering looks like: stored, then a timeout.
  const publish = bus.streams.publish.bind(bus.streams);
  let fault: 'lost-ack' | 'down' | undefined;
  bus.streams.publish = async (...args: Parameters<typeof publish>) => {
    if (fault === 'down') throw new BusError('ERR_BUS_UNAVAILABLE', 'durable publish: NATS is unavailable');
    const ack = await publish(...args);
    if (fault === 'lost-ack') {
      fault = undefined;
      throw new BusError('ERR_BUS_TIMEOUT', 'durable publish: timed out');
    }
    return ack;
  };
  const refused = (n: number) => () => event('failed', n, INTENT_UNACKED);

  fault = 'lost-ack';
  await assert.rejects(recorder.recordIntent(event('requested', 1), refused(1)), { code: 'ERR_AUDIT_UNAVAILABLE' });
  fault = 'down';
  await assert.rejects(recorder.recordIntent(event('requested', 2), refused(2)), { code: 'ERR_AUDIT_UNAVAILABLE' });
  fault = undefined;
  await recorder.recordIntent(event('requested', 3), refused(3));

  const stored = async (): Promise<string[]> => {
    const info = await bus.streams.info(STREAMS.AUDIT_RAW.name);
    const out: string[] = [];
    for (let seq = info.firstSeq; seq <= info.lastSeq; seq++) {
      const m = await bus.streams.get(STREAMS.AUDIT_RAW.name, seq);
      if (!m) continue;
      const e = decodeEvent(m.data);
      out.push(`${e.agentgate.action.phase}:${e.agentgate.action.id.slice(-1)}${e.event.reason === INTENT_UNACKED ? ' (unacked intent)' : ''}`);
    }
    return out;
  };
  await until('the refused outcome stored', async () => (await stored()).length === 3);
  assert.deepEqual(
    (await stored()).sort(),
    ['failed:1 (unacked intent)', 'requested:1', 'requested:3'],
    'every stored intent has an outcome; 2 was never stored and has none',
  );
  await recorder.settle();
  await bus.drain();
});
