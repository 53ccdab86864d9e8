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

test('masking stages - processOne: a failed publish hands the message back and stops the window; a good one is counted and acked', async () => {
  const { logger } = captureLogger();
  const secrets = await activeSecrets();
  let fail = true;
  const published: string[] = [];
  const bus = {
    streams: {
      publish: async (subject: string) => {
        if (fail) throw Object.assign(new Error('down'), { code: 'ERR_BUS_UNAVAILABLE' });
        published.push(subject);
        return { seq: published.length, duplicate: false };
      },
    },
  } as unknown as Bus;
  const loop = new MaskingLoop({ bus, consumer: {} as Consumer, secrets, svc, refOfConnection: new Map(), logger });
  const naks: number[] = [];
  const event = rawEvent();
  const msg = fakeMsg(encodeEvent(event), 1, naks);
  await assert.rejects(loop.processOne(msg, event, secrets.active()!), { code: 'ERR_BUS_UNAVAILABLE' });
  assert.deepEqual([naks, loop.stats.retried, loop.stats.clean], [[123], 1, 0]);
  fail = false;
  let acked = false;
  (msg as { ack: () => Promise<void> }).ack = async () => {
    acked = true;
  };
  await loop.processOne(msg, event, secrets.active()!);
  assert.deepEqual([published.length, loop.stats.clean, acked], [1, 1, true]);
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
