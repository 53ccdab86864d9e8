import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AuditEvent, validateEvent } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { RefusalLog } from './refusals.js';

const log = createLogger({ name: 'test', level: 'silent', destination: { write: () => {} } });

function setup(opts: { maxSources?: number; windowMs?: number } = {}) {
  const events: AuditEvent[] = [];
  let now = Date.parse('2026-01-01T00:00:00.000Z');
  const refusals = new RefusalLog(
    { recordLater: (e) => events.push(e) },
    { windowMs: opts.windowMs ?? 60_000, maxSources: opts.maxSources ?? 100, observerName: 'gw', now: () => now },
    log,
  );
  return { events, refusals, tick: (ms: number) => (now += ms) };
}

test('refusals - N refusals of one source and code are one event with count N and their first/last time', () => {
  const { events, refusals, tick } = setup();
  for (let i = 0; i < 500; i++) {
    refusals.note({ ip: '203.0.113.9', code: 'ERR_AUTH_INVALID', detail: 'ERR_TOKEN_SIGNATURE', connection: 'api' });
    tick(10);
  }
  assert.equal(events.length, 0, 'nothing is recorded before the window ends');
  refusals.flush();
  assert.equal(events.length, 1);
  const ev = validateEvent(events[0]);
  assert.equal(ev.agentgate.refusal?.count, 500);
  assert.equal(ev.error?.code, 'ERR_AUTH_INVALID');
  assert.equal(ev.source?.ip, '203.0.113.9');
  assert.equal(ev.agentgate.action.connection, 'api');
  assert.equal(ev.labels?.refusal_detail, 'ERR_TOKEN_SIGNATURE');
  assert.match(ev.event.reason ?? '', /ERR_TOKEN_SIGNATURE/);
  assert.equal(Date.parse(ev.event.end ?? '') - Date.parse(ev.event.start ?? ''), 499 * 10);
  assert.deepEqual(ev.event.category, ['authentication']);
  assert.equal(ev.event.outcome, 'failure');
  refusals.flush();
  assert.equal(events.length, 1, 'an empty window records nothing');
});

test('refusals - sources, codes and details are counted apart; mixed connections are not named', () => {
  const { events, refusals } = setup();
  refusals.note({ ip: '10.0.0.1', code: 'ERR_AUTH_INVALID', detail: 'ERR_TOKEN_EXPIRED', connection: 'a' });
  refusals.note({ ip: '10.0.0.1', code: 'ERR_AUTH_INVALID', detail: 'ERR_TOKEN_SIGNATURE', connection: 'a' });
  refusals.note({ ip: '10.0.0.1', code: 'ERR_AUTH_MISSING', connection: 'a' });
  refusals.note({ ip: '10.0.0.2', code: 'ERR_AUTH_MISSING', connection: 'a' });
  refusals.note({ ip: '10.0.0.2', code: 'ERR_AUTH_MISSING', connection: 'b' });
  refusals.close();
  assert.equal(events.length, 4);
  const last = events.find((e) => e.source?.ip === '10.0.0.2');
  assert.equal(last?.agentgate.refusal?.count, 2);
  assert.equal(last?.agentgate.action.connection, undefined);
  refusals.note({ ip: '10.0.0.3', code: 'ERR_AUTH_MISSING' });
  refusals.flush();
  assert.equal(events.length, 4, 'nothing is counted after close');
});

test('refusals - memory is bounded: sources beyond maxSources are counted together without an address', () => {
  const { events, refusals } = setup({ maxSources: 3 });
  for (let i = 0; i < 1000; i++) refusals.note({ ip: `2001:db8::${i.toString(16)}`, code: 'ERR_BAD_TARGET' });
  assert.equal(refusals.size(), 4);
  refusals.flush();
  assert.equal(events.length, 4);
  const overflow = events.find((e) => e.labels?.refusal_overflow === true);
  assert.ok(overflow);
  assert.equal(overflow.source, undefined);
  assert.equal(overflow.agentgate.refusal?.count, 997);
  assert.equal(
    events.reduce((n, e) => n + (e.agentgate.refusal?.count ?? 0), 0),
    1000,
  );
});

test('refusals - a detail that is not an identifier is dropped (never free text from a request); hostile addresses are dropped', () => {
  const { events, refusals } = setup();
  refusals.note({ ip: 'x'.repeat(500), code: 'ERR_AUTH_INVALID', detail: 'issuer http://x/€ "quoted"' });
  refusals.flush();
  const ev = validateEvent(events[0]);
  assert.equal(ev.labels, undefined);
  assert.equal(ev.source, undefined);
  assert.doesNotMatch(ev.event.reason ?? '', /€|quoted/);
});

test('refusals - the window closes on its own timer', async () => {
  const events: AuditEvent[] = [];
  const refusals = new RefusalLog({ recordLater: (e) => events.push(e) }, { windowMs: 50, maxSources: 10 }, log);
  refusals.note({ ip: '127.0.0.1', code: 'ERR_AUTH_MISSING' });
  refusals.note({ ip: '127.0.0.1', code: 'ERR_AUTH_MISSING' });
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(events.length, 1);
  assert.equal(events[0]?.agentgate.refusal?.count, 2);
  refusals.close();
});

test('refusals - a sink that throws never makes note or flush throw', () => {
  const refusals = new RefusalLog(
    {
      recordLater: () => {
        throw new Error('stream down');
      },
    },
    { windowMs: 60_000, maxSources: 10 },
    log,
  );
  refusals.note({ ip: '127.0.0.1', code: 'ERR_AUTH_MISSING' });
  assert.doesNotThrow(() => refusals.close());
});
