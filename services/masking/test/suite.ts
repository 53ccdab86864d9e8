import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Bus, Consumer, StreamMsg, Streams } from '@agentgate/bus';
import { STREAMS, decodeEvent, newEventId } from '@agentgate/events';
import { createMasker } from '@agentgate/masking';
import { startSecretBroker } from '@agentgate/secret-broker';
import { waitFor } from '@agentgate/testkit';
import { type DeadLetter, MASKING_DURABLE, ensureAuditStreams, exposureEventId, startMaskingService } from '../src/index.js';
import {
  CLEAN,
  DLQ,
  SECRET,
  captureLogger,
  githubToken,
  leakForms,
  publishRaw,
  rawEvent,
  readStream,
  sleep,
  streamCount,
  testConfig,
  text,
} from './helpers.js';

/** What a transport gives a test: the service's bus and the bus the broker answers on (another connection on NATS). */
export interface Harness {
  bus: Bus;
  brokerBus: Bus;
  close(): Promise<void>;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const brokerEnv = { env: { GH_TOKEN: SECRET } };

/** A bus where the first ack of each raw message is lost: the service "crashes" between publish and ack. */
function withLostFirstAcks(bus: Bus): Bus {
  const dropped = new Set<number>();
  const wrapMsg = (m: StreamMsg): StreamMsg => ({
    subject: m.subject,
    data: m.data,
    headers: m.headers,
    seq: m.seq,
    msgId: m.msgId,
    deliveryCount: m.deliveryCount,
    timestamp: m.timestamp,
    json: <T>() => m.json<T>(),
    ack: async () => {
      if (dropped.has(m.seq)) return m.ack();
      dropped.add(m.seq);
    },
    // The service acks without waiting where the transport can: that ack is lost the same way.
    ...(m.ackNoWait && {
      ackNoWait: () => {
        if (dropped.has(m.seq)) return m.ackNoWait?.();
        dropped.add(m.seq);
      },
    }),
    nak: (d) => m.nak(d),
    working: () => m.working(),
    term: () => m.term(),
  });
  const streams: Streams = {
    ensure: (c, o) => bus.streams.ensure(c, o),
    publish: (s, d, o) => bus.streams.publish(s, d, o),
    info: (s) => bus.streams.info(s),
    fill: (s) => bus.streams.fill(s),
    get: (s, q) => bus.streams.get(s, q),
    consumer: async (s, c): Promise<Consumer> => {
      const inner = await bus.streams.consumer(s, c);
      return {
        stream: inner.stream,
        name: inner.name,
        pending: () => inner.pending(),
        fetch: async (o) => (await inner.fetch(o)).map(wrapMsg),
        // The transport's standing-pull reader (NATS), its messages wrapped alike.
        ...(inner.reader && {
          reader: (o) => {
            const r = inner.reader!(o);
            return { next: async () => (await r.next()).map(wrapMsg), close: () => r.close() };
          },
        }),
      };
    },
  };
  return new Proxy(bus, {
    get(target, prop) {
      if (prop === 'streams') return streams;
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

async function drained(bus: Bus): Promise<boolean> {
  const c = await bus.streams.consumer(STREAMS.AUDIT_RAW.name, { durable: MASKING_DURABLE, ackWaitMs: 2000 });
  const p = await c.pending();
  return p.pending === 0 && p.ackPending === 0;
}

/** Registers the end-to-end scenarios of the masking service on one transport. */
export function maskingSuite(transport: string, open: () => Promise<Harness>): void {
  test(`masking (${transport}) - raw in, clean out: every form of a brokered secret and a detector hit masked, one exposure event`, async () => {
    const h = await open();
    try {
      const config = testConfig();
      const { logger, lines } = captureLogger();
      const broker = await startSecretBroker(h.brokerBus, config, undefined, brokerEnv);
      const svc = await startMaskingService(h.bus, config, logger);
      const gh = githubToken();
      const ev = rawEvent({
        url: `https://api.github.com/search?q=${encodeURIComponent(SECRET)}`,
        attributes: {
          echoed: `the agent printed ${SECRET} to its log`,
          b64: `payload ${b64(SECRET)} end`,
          basic: `Basic ${b64(`user:${SECRET}`)}`,
          form: `a=1&q=${encodeURIComponent(SECRET)}&b=2`,
          hex: Buffer.from(SECRET).toString('hex'),
          detector: `found ${gh} in the workflow output`,
        },
      });
      await publishRaw(h.bus, ev);
      await waitFor(async () => (await streamCount(h.bus, CLEAN)) >= 2, { what: 'clean event and exposure event' });
      await sleep(300);
      const msgs = await readStream(h.bus, CLEAN);
      assert.equal(msgs.length, 2, 'exactly the clean event and one exposure event');
      for (const m of msgs) {
        for (const form of [...leakForms(SECRET), gh]) assert.equal(text(m).includes(form), false, 'a form of a secret reached the clean stream');
      }
      const clean = decodeEvent(msgs[0]!.data);
      assert.equal(clean.event.id, ev.event.id);
      assert.equal(msgs[0]!.msgId, ev.event.id, 'published under the event id');
      assert.equal(msgs[0]!.subject, `audit.clean.${msgs[0]!.subject.split('.')[2]}`);
      const types = new Set(clean.agentgate.masking?.findings.map((f) => `${f.type}:${f.ref ?? ''}`));
      assert.ok(types.has('secret:gh'), 'the brokered secret is reported by ref');
      assert.ok(types.has('github-token:'), 'the detector hit is reported');
      assert.ok((clean.agentgate.masking?.count ?? 0) >= 6);
      assert.match(String(clean.agentgate.action.attributes?.['echoed']), /\[REDACTED:secret:gh\]/);

      const exposure = decodeEvent(msgs[1]!.data);
      assert.equal(exposure.agentgate.action.phase, 'exposure');
      assert.equal(exposure.agentgate.exposure?.secret_ref, 'gh');
      assert.equal(exposure.agentgate.session.id, ev.agentgate.session.id);
      assert.equal(exposure.agentgate.action.id, ev.agentgate.action.id);
      assert.equal(exposure.agentgate.action.connection, 'github');
      assert.equal(exposure.event.id, exposureEventId(ev.event.id, 'gh', Date.parse(ev['@timestamp'])));
      assert.equal(msgs[1]!.msgId, exposure.event.id);
      assert.deepEqual(exposure.user, ev.user);
      assert.deepEqual(svc.stats(), { clean: 1, exposures: 1, deadLettered: 0, retried: 0, batches: svc.stats().batches });
      // Unmasked data stays only until masked: the raw stream is a work queue, the ack took the event out.
      await waitFor(async () => (await streamCount(h.bus, STREAMS.AUDIT_RAW.name)) === 0, { what: 'the raw event removed once masked' });
      assert.equal((await h.bus.streams.info(STREAMS.AUDIT_RAW.name)).lastSeq, 1);

      await svc.stop();
      await broker.stop();
      const log = lines.join('');
      assert.ok(log.includes('masking service started'));
      for (const form of [...leakForms(SECRET), gh]) assert.equal(log.includes(form), false, 'a secret reached the log');
    } finally {
      await h.close();
    }
  });

  test(`masking (${transport}) - poison messages go to the dead-letter subject with a reason, masked, and the stream flows on`, async () => {
    const h = await open();
    try {
      const config = testConfig();
      const broker = await startSecretBroker(h.brokerBus, config, undefined, brokerEnv);
      const svc = await startMaskingService(h.bus, config, captureLogger().logger);
      await h.bus.streams.publish('audit.raw.poison', `not json { ${SECRET}`, { msgId: 'poison-1' });
      await h.bus.streams.publish('audit.raw.poison', JSON.stringify({ hello: SECRET, event: { id: 'x' } }), { msgId: 'poison-2' });
      const good = rawEvent({ attributes: { note: 'nothing secret here' } });
      await publishRaw(h.bus, good);
      await waitFor(async () => (await streamCount(h.bus, DLQ)) >= 2 && (await streamCount(h.bus, CLEAN)) >= 1, { what: 'dead letters and the good event' });
      await sleep(300);
      const dead = (await readStream(h.bus, DLQ)).map((m) => {
        assert.equal(m.subject, 'audit.dlq.masking');
        for (const form of leakForms(SECRET)) assert.equal(text(m).includes(form), false, 'a secret reached the DLQ');
        return JSON.parse(text(m)) as DeadLetter;
      });
      assert.deepEqual(
        dead.map((d) => d.reason.code),
        ['ERR_MASKSVC_BAD_JSON', 'ERR_MASKSVC_INVALID_EVENT'],
      );
      assert.deepEqual(
        dead.map((d) => d.seq),
        [1, 2],
      );
      for (const d of dead) {
        assert.equal(d.stage, 'masking');
        assert.equal(d.original_subject, 'audit.raw.poison');
        assert.match(d.masked_text ?? '', /\[REDACTED:secret:gh\]/, 'the analyst sees where the secret was');
        assert.match(d.raw_sha256, /^[0-9a-f]{64}$/);
      }
      assert.match(dead[1]!.reason.message, /agentgate/, 'the reason names the bad paths');
      const clean = await readStream(h.bus, CLEAN);
      assert.deepEqual(
        clean.map((m) => decodeEvent(m.data).event.id),
        [good.event.id],
      );
      assert.equal(svc.stats().deadLettered, 2);
      await svc.stop();
      await broker.stop();
    } finally {
      await h.close();
    }
  });

  test(`masking (${transport}) - a masker failure dead-letters the event without its text, never passes it`, async () => {
    const h = await open();
    try {
      const config = testConfig();
      const broker = await startSecretBroker(h.brokerBus, config, undefined, brokerEnv);
      const real = createMasker();
      // A masker that breaks on one marked event, as an engine bug would.
      const failing = (m: ReturnType<typeof createMasker>): ReturnType<typeof createMasker> => ({
        ...m,
        maskJson: (v, o) => {
          if (JSON.stringify(v).includes('explode-me')) throw new Error('engine bug');
          return m.maskJson(v, o);
        },
        withSecrets: (list) => failing(m.withSecrets(list)),
      });
      const svc = await startMaskingService(h.bus, config, captureLogger().logger, { createMasker: () => failing(real) });
      const bad = rawEvent({ attributes: { marker: 'explode-me', leaked: SECRET } });
      const good = rawEvent({ attributes: { leaked: SECRET } });
      await publishRaw(h.bus, bad);
      await publishRaw(h.bus, good);
      await waitFor(async () => (await streamCount(h.bus, DLQ)) >= 1 && (await streamCount(h.bus, CLEAN)) >= 2, { what: 'dead letter and good event' });
      const [dl] = await readStream(h.bus, DLQ);
      const body = JSON.parse(text(dl!)) as DeadLetter;
      assert.equal(body.reason.code, 'ERR_MASKSVC_MASK_FAILED');
      assert.equal(body.masked_text, undefined);
      assert.equal(text(dl!).includes(SECRET), false);
      const clean = (await readStream(h.bus, CLEAN)).map((m) => decodeEvent(m.data));
      assert.equal(
        clean.some((e) => e.event.id === bad.event.id),
        false,
        'the failed event never reached the clean stream',
      );
      assert.equal(clean[0]!.event.id, good.event.id);
      await svc.stop();
      await broker.stop();
    } finally {
      await h.close();
    }
  });

  test(`masking (${transport}) - without the masklist nothing passes; events flow once the broker answers`, async () => {
    const h = await open();
    try {
      const config = testConfig();
      const svc = await startMaskingService(h.bus, config, captureLogger().logger);
      const ev = rawEvent({ attributes: { leaked: SECRET } });
      await publishRaw(h.bus, ev);
      await sleep(1500);
      assert.equal(svc.ready(), false);
      assert.equal(await streamCount(h.bus, CLEAN), 0, 'nothing may pass before exact-value masking is possible');
      assert.ok(svc.stats().retried >= 1, 'the event was handed back for later');
      const broker = await startSecretBroker(h.brokerBus, config, undefined, brokerEnv);
      await waitFor(async () => (await streamCount(h.bus, CLEAN)) >= 2, { what: 'clean and exposure events after the broker started' });
      assert.equal(svc.ready(), true);
      for (const m of await readStream(h.bus, CLEAN)) assert.equal(text(m).includes(SECRET), false);
      await svc.stop();
      await broker.stop();
    } finally {
      await h.close();
    }
  });

  test(`masking (${transport}) - a restart mid-stream loses nothing and duplicates nothing, order kept`, async () => {
    const h = await open();
    try {
      const config = testConfig({ batch: 20 });
      const broker = await startSecretBroker(h.brokerBus, config, undefined, brokerEnv);
      await ensureAuditStreams(h.bus, config.bus.streams);
      const sent: string[] = [];
      const expected = new Set<string>();
      const send = async (n: number): Promise<void> => {
        for (let i = 0; i < n; i++) {
          const leaks = sent.length % 10 === 0;
          const ev = rawEvent({ attributes: leaks ? { leaked: SECRET, i: sent.length } : { i: sent.length } });
          sent.push(ev.event.id);
          expected.add(ev.event.id);
          if (leaks) expected.add(exposureEventId(ev.event.id, 'gh', Date.parse(ev['@timestamp'])));
          await publishRaw(h.bus, ev);
        }
      };
      await send(1000);
      const first = await startMaskingService(h.bus, config, captureLogger().logger);
      await waitFor(() => first.stats().clean >= 40, { what: 'the first instance to make progress', intervalMs: 2 });
      await first.stop();
      const firstCount = first.stats().clean;
      assert.ok(firstCount < 1000, `the first instance stopped mid-stream (${firstCount})`);
      // Events keep arriving while no instance runs.
      await send(100);
      const second = await startMaskingService(h.bus, config, captureLogger().logger);
      await waitFor(async () => (await streamCount(h.bus, CLEAN)) >= expected.size && (await drained(h.bus)), {
        what: 'every event in the clean stream',
        timeoutMs: 60_000,
      });
      await sleep(300);
      const msgs = await readStream(h.bus, CLEAN);
      const ids = msgs.map((m) => decodeEvent(m.data).event.id);
      assert.equal(new Set(ids).size, ids.length, 'no event stored twice');
      assert.deepEqual(new Set(ids), expected, 'every event and exposure stored');
      const sentSet = new Set(sent);
      const sources = ids.filter((id) => sentSet.has(id));
      assert.deepEqual(sources, sent, 'clean events in raw order');
      assert.equal(firstCount + second.stats().clean, 1100);
      await second.stop();
      await broker.stop();
    } finally {
      await h.close();
    }
  });

  test(`masking (${transport}) - a crash between publish and ack republishes under the same ids, de-duplicated`, async () => {
    const h = await open();
    try {
      const config = testConfig({ ackWaitMs: 1000 });
      const broker = await startSecretBroker(h.brokerBus, config, undefined, brokerEnv);
      const svc = await startMaskingService(withLostFirstAcks(h.bus), config, captureLogger().logger);
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const ev = rawEvent({ attributes: { leaked: SECRET, i }, actionId: newEventId() });
        ids.add(ev.event.id);
        await publishRaw(h.bus, ev);
      }
      // Every event is published once, never acked, redelivered after ackWait and published again.
      await waitFor(() => svc.stats().clean >= 40, { what: 'redelivered events', timeoutMs: 15_000 });
      await waitFor(() => drained(h.bus), { what: 'all acked' });
      const stored = (await readStream(h.bus, CLEAN)).map((m) => decodeEvent(m.data));
      assert.equal(stored.length, 40, '20 events + 20 exposures, each stored once');
      assert.deepEqual(new Set(stored.filter((e) => e.agentgate.action.phase !== 'exposure').map((e) => e.event.id)), ids);
      assert.equal(svc.stats().exposures, 40, 'exposures were published twice too');
      await svc.stop();
      await broker.stop();
    } finally {
      await h.close();
    }
  });

  test(`masking (${transport}) - a full clean stream holds the service back; once the writer makes room every event is stored once, none lost`, async () => {
    const h = await open();
    try {
      // Room for 30 messages per stream; 25 leaking events make 50 clean messages (event + exposure each).
      const base = testConfig({ batch: 10, maxInFlight: 4 });
      const config = { ...base, bus: { ...base.bus, streams: { ...base.bus.streams, maxMsgs: 30 } } };
      const broker = await startSecretBroker(h.brokerBus, config, undefined, brokerEnv);
      await ensureAuditStreams(h.bus, config.bus.streams);
      const expected = new Set<string>();
      for (let i = 0; i < 25; i++) {
        const ev = rawEvent({ attributes: { leaked: SECRET, i } });
        expected.add(ev.event.id);
        expected.add(exposureEventId(ev.event.id, 'gh', Date.parse(ev['@timestamp'])));
        await publishRaw(h.bus, ev);
      }
      const svc = await startMaskingService(h.bus, config, captureLogger().logger);
      await waitFor(async () => (await streamCount(h.bus, CLEAN)) === 30 && svc.stats().retried > 0, {
        what: 'the clean stream full and the events it refused handed back',
      });
      assert.ok(svc.stats().clean < 25, 'not everything fitted');
      // The audit writer's part: read the clean stream and ack (work queue: an ack makes room).
      const writer = await h.bus.streams.consumer(CLEAN, { durable: 'writer-test', ackWaitMs: 2000 });
      const got: string[] = [];
      const take = async (): Promise<void> => {
        for (const m of await writer.fetch({ batch: 50, expiresMs: 200 })) {
          got.push(decodeEvent(m.data).event.id);
          await m.ack();
        }
      };
      await waitFor(
        async () => {
          await take();
          return new Set(got).size >= expected.size && (await drained(h.bus));
        },
        { what: 'every event through the full clean stream', timeoutMs: 60_000 },
      );
      await sleep(500);
      await take();
      assert.equal(new Set(got).size, got.length, 'no event stored twice');
      assert.deepEqual(new Set(got), expected, 'every event and exposure stored');
      assert.equal(svc.stats().clean, 25);
      await svc.stop();
      await broker.stop();
    } finally {
      await h.close();
    }
  });
}
