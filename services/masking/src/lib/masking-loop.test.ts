import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Bus, Consumer, StreamMsg } from '@agentgate/bus';
import { maskingServiceSchema } from '@agentgate/config';
import { type AuditEvent, decodeEvent, encodeEvent } from '@agentgate/events';
import { createMasker } from '@agentgate/masking';
import { SECRET, captureLogger, rawEvent } from '../../test/helpers.js';
import { MaskingServiceError } from '../errors.js';
import { MaskingLoop, decodeAll, planItem, wantedRefs } from './masking-loop.js';
import { SecretSet } from './secret-set.js';

function fakeMsg(data: Uint8Array | string, seq: number, naks: number[] = []): StreamMsg {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return {
    subject: 'audit.raw.x',
    data: bytes,
    headers: {},
    seq,
    msgId: undefined,
    deliveryCount: 1,
    timestamp: 0,
    json: () => JSON.parse(new TextDecoder().decode(bytes)),
    ack: async () => undefined,
    nak: (delay?: number) => void naks.push(delay ?? -1),
    working: () => undefined,
  } as StreamMsg;
}

const svc = maskingServiceSchema.parse({ retryDelayMs: 123 });

async function activeSecrets(): Promise<SecretSet> {
  const set = new SecretSet(createMasker({ detectors: 'all' }), { masklist: async () => [{ ref: 'gh', value: SECRET }] }, captureLogger().logger, {
    refreshMs: 60_000,
    missRefreshMs: 5_000,
  });
  assert.equal(await set.refresh(), true);
  return set;
}

test('masking stages - decodeAll keeps events and turns a poison message into its typed error; wantedRefs names the credentials used', () => {
  const event = rawEvent();
  const decoded = decodeAll([fakeMsg(encodeEvent(event), 1), fakeMsg('{not json', 2), fakeMsg('{"a":1}', 3)]);
  assert.equal((decoded[0] as AuditEvent).event.id, event.event.id);
  assert.equal((decoded[1] as MaskingServiceError).code, 'ERR_MASKSVC_BAD_JSON');
  assert.equal((decoded[2] as MaskingServiceError).code, 'ERR_MASKSVC_INVALID_EVENT');
  assert.deepEqual([...wantedRefs(decoded, new Map([['github', 'gh']]))], ['gh']);
  assert.deepEqual([...wantedRefs(decoded, new Map())], []);
});

test('masking stages - planItem masks a brokered value and adds its exposure, or dead-letters a poison message', async () => {
  const { logger, lines } = captureLogger();
  const active = (await activeSecrets()).active()!;
  const event = rawEvent({ attributes: { note: `token ${SECRET}` } });
  const clean = planItem(fakeMsg(encodeEvent(event), 1), event, active, logger);
  assert.equal(clean.kind, 'clean');
  assert.equal(clean.exposures, 1);
  assert.equal(clean.publishes.length, 2);
  assert.ok(clean.publishes.every((p) => !Buffer.from(p.data).toString('utf8').includes(SECRET)));
  assert.equal(decodeEvent(clean.publishes[0]!.data).event.id, event.event.id);

  const poison = new MaskingServiceError('ERR_MASKSVC_BAD_JSON', 'raw message is not UTF-8 JSON');
  const dl = planItem(fakeMsg(`{${SECRET}`, 2), poison, active, logger);
  assert.equal(dl.kind, 'dlq');
  assert.equal(dl.publishes[0]!.subject, 'audit.dlq.masking');
  assert.ok(!Buffer.from(dl.publishes[0]!.data).toString('utf8').includes(SECRET));
  assert.ok(lines.some((l) => l.includes('raw event dead-lettered')));
});

test('masking stages - without the masklist a batch is handed back (nak after retryDelayMs), never masked', async () => {
  const { logger } = captureLogger();
  const secrets = new SecretSet(createMasker({ detectors: 'all' }), { masklist: async () => Promise.reject(new Error('no broker')) }, logger, {
    refreshMs: 60_000,
    missRefreshMs: 5_000,
  });
  const loop = new MaskingLoop({ bus: {} as Bus, consumer: {} as Consumer, secrets, svc, refOfConnection: new Map(), logger });
  const naks: number[] = [];
  const msgs = [fakeMsg(encodeEvent(rawEvent()), 1, naks), fakeMsg(encodeEvent(rawEvent()), 2, naks)];
  await loop.handle(msgs);
  assert.deepEqual(naks, [123, 123]);
  assert.deepEqual([loop.stats.batches, loop.stats.retried, loop.stats.clean], [1, 2, 0]);
});

test('masking stages - publishAll: groups of at most maxInFlight publishes in raw order; a failed publish hands back its event and every later group', async () => {
  const { logger } = captureLogger();
  const secrets = await activeSecrets();
  const small = maskingServiceSchema.parse({ retryDelayMs: 123, maxInFlight: 3 });
  const published: string[] = [];
  // How many publishes were awaiting their ack, at most.
  let inFlight = 0;
  let maxInFlight = 0;
  const failIds = new Set<string>();
  const bus = {
    streams: {
      publish: async (_subject: string, _data: Uint8Array, o: { msgId: string }) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        if (failIds.has(o.msgId)) throw Object.assign(new Error('full'), { code: 'ERR_STREAM_FULL' });
        published.push(o.msgId);
        return { stream: 'AUDIT_CLEAN', seq: published.length, duplicate: false };
      },
    },
  } as unknown as Bus;
  const run = async (events: AuditEvent[]) => {
    const loop = new MaskingLoop({ bus, consumer: {} as Consumer, secrets, svc: small, refOfConnection: new Map(), logger });
    const naks: number[] = [];
    const acked: number[] = [];
    const msgs = events.map((e, i) => {
      const m = fakeMsg(encodeEvent(e), i + 1, naks);
      // The cheap ack is used when the transport has it.
      (m as { ackNoWait?: () => void }).ackNoWait = () => void acked.push(i + 1);
      return m;
    });
    const ok = await loop.publishAll(msgs, decodeAll(msgs), secrets.active()!);
    return { ok, naks, acked, loop };
  };

  // Event 2 leaks the secret: a clean event and its exposure (2 publishes). Groups: [1, 2] (3 publishes), [3, 4, 5], [6, 7].
  const events = Array.from({ length: 7 }, (_, i) => rawEvent({ attributes: i === 1 ? { note: `token ${SECRET}` } : { i } }));
  const all = await run(events);
  assert.equal(all.ok, true);
  assert.deepEqual(published.slice(0, 3), [events[0]!.event.id, events[1]!.event.id, published[2]], 'in raw order, exposure after its event');
  assert.deepEqual(
    published.filter((id) => events.some((e) => e.event.id === id)),
    events.map((e) => e.event.id),
  );
  assert.equal(maxInFlight, 3, 'never more than maxInFlight publishes awaiting their ack');
  assert.deepEqual(all.acked, [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual([all.loop.stats.clean, all.loop.stats.exposures, all.naks.length], [7, 1, 0]);

  // Groups [1, 2, 3], [4, 5, 6], [7]. Event 4 is refused: 5 and 6 (same group, already in flight) are stored and acked;
  // 4 and the later group are handed back.
  published.length = 0;
  const again = Array.from({ length: 7 }, (_, i) => rawEvent({ attributes: { i } }));
  failIds.add(again[3]!.event.id);
  const failed = await run(again);
  assert.equal(failed.ok, false);
  assert.deepEqual(failed.acked, [1, 2, 3, 5, 6]);
  assert.deepEqual(failed.naks, [123, 123], "event 4 and the group after it, nak'd with retryDelayMs");
  assert.deepEqual([failed.loop.stats.clean, failed.loop.stats.retried], [5, 2]);
  assert.equal(published.length, 5);
});

test('masking stages - a bug while masking hands back every event not yet published, and lets the group in flight finish', async () => {
  const { logger } = captureLogger();
  const secrets = await activeSecrets();
  const small = maskingServiceSchema.parse({ retryDelayMs: 123, maxInFlight: 2 });
  const published: string[] = [];
  const bus = {
    streams: {
      publish: async (_s: string, _d: Uint8Array, o: { msgId: string }) => {
        await new Promise((r) => setTimeout(r, 2));
        published.push(o.msgId);
        return { stream: 'AUDIT_CLEAN', seq: published.length, duplicate: false };
      },
    },
  } as unknown as Bus;
  const loop = new MaskingLoop({ bus, consumer: {} as Consumer, secrets, svc: small, refOfConnection: new Map(), logger });
  const naks: number[] = [];
  const acked: number[] = [];
  const events = Array.from({ length: 5 }, (_, i) => rawEvent({ attributes: { i } }));
  const msgs = events.map((e, i) => {
    const m = fakeMsg(encodeEvent(e), i + 1, naks);
    m.ack = async () => void acked.push(i + 1);
    return m;
  });
  const decoded = decodeAll(msgs);
  // Not a MaskingServiceError: a bug in planning event 4 (after group [1, 2] was issued).
  Object.defineProperty(decoded[3] as object, 'agentgate', {
    get: () => {
      throw new TypeError('bug');
    },
  });
  await assert.rejects(loop.publishAll(msgs, decoded, secrets.active()!), TypeError);
  assert.deepEqual(acked, [1, 2], 'the issued group finished; ack() is the fallback without ackNoWait');
  assert.deepEqual(naks, [123, 123, 123], 'events 3 (planned, not issued), 4 and 5 handed back');
  assert.deepEqual(published, [events[0]!.event.id, events[1]!.event.id]);
});

test('masking stages - a failing fetch pauses with backoff (bounded by retryDelayMs) and stop() cuts the pause short', async () => {
  const { logger } = captureLogger();
  const consumer = { fetch: async () => Promise.reject(Object.assign(new Error('x'), { code: 'ERR_BUS_UNAVAILABLE' })) } as unknown as Consumer;
  const slow = maskingServiceSchema.parse({ retryDelayMs: 60_000 });
  const loop = new MaskingLoop({ bus: {} as Bus, consumer, secrets: await activeSecrets(), svc: slow, refOfConnection: new Map(), logger });
  const t0 = Date.now();
  assert.equal(await loop.fetchBatch(0), undefined);
  assert.ok(Date.now() - t0 >= 120, 'the first pause is at least half of 250 ms');
  const t1 = Date.now();
  const pausing = loop.fetchBatch(8); // cap 60 s
  setTimeout(() => loop.stop(), 50);
  assert.equal(await pausing, undefined);
  assert.ok(Date.now() - t1 < 5_000, 'stop woke the pause');
});
