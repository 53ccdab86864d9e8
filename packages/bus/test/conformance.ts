import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { type Bus, PrefetchingReader, type StreamMsg, openReader } from '../src/index.js';

export interface Harness {
  /** A fresh client on the same bus (a second connection for NATS, the same bus in-process). */
  bus(): Promise<Bus>;
  /** Makes the durable store unreachable; returns a function that brings it back. */
  outage(bus: Bus): Promise<() => Promise<Bus>>;
  /** Simulates a restart of everything and returns a new client that must see the same durable state. */
  restart(bus: Bus): Promise<Bus>;
  /** Environment for a child process that should join this bus. */
  childEnv(): Record<string, string>;
}

const uid = (): string => randomBytes(4).toString('hex');

/** Polls `cond` (every 10 ms, up to 10 s) instead of sleeping a fixed time before an assertion. */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal((err as { code?: string }).code, code);
    return true;
  });
}

/** One suite, run against every transport. */
export function conformance(name: string, h: Harness): void {
  describe(`bus conformance (${name})`, () => {
    it('request/reply - a service endpoint answers and its typed errors cross the bus', async () => {
      const bus = await h.bus();
      const svc = await bus.addService({ name: `echo${uid()}`, version: '1.0.0' });
      const subject = `echo.${uid()}`;
      svc.addEndpoint<{ n: number }, { twice: number }>(
        'twice',
        (req) => {
          if (req.n < 0) throw Object.assign(new Error('negative'), { code: 'ERR_NEGATIVE' });
          return { twice: req.n * 2 };
        },
        { subject },
      );
      assert.deepEqual(await bus.request(subject, { n: 21 }), { twice: 42 });
      await rejectsWithCode(bus.request(subject, { n: -1 }), 'ERR_NEGATIVE');
      assert.equal(svc.stats().endpoints[0]?.requests, 2);
      assert.equal(svc.stats().endpoints[0]?.errors, 1);
      await svc.stop();
      await bus.drain();
    });

    it('request/reply - an error message with CR LF, NUL or non-ASCII crosses the bus whole and the service keeps answering', async () => {
      const bus = await h.bus();
      const svc = await bus.addService({ name: `hostile${uid()}`, version: '1.0.0' });
      const subject = `hostile.${uid()}`;
      // What identity does with a token's iss: quote it in the error message.
      const message = 'issuer http://x/\r\nset-cookie: a=b\u0000 \u20ac is not configured';
      svc.addEndpoint<{ n: number }, { ok: boolean }>(
        'hostile',
        (req) => {
          if (req.n < 0) throw Object.assign(new Error(message), { code: 'ERR_HOSTILE' });
          return { ok: true };
        },
        { subject },
      );
      await assert.rejects(bus.request(subject, { n: -1 }, { timeoutMs: 2000 }), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'ERR_HOSTILE');
        assert.equal((err as Error).message, message);
        return true;
      });
      assert.deepEqual(await bus.request(subject, { n: 1 }, { timeoutMs: 2000 }), { ok: true });
      await svc.stop();
      await bus.drain();
    });

    it('request/reply - no responder fails fast with its typed error', async () => {
      const bus = await h.bus();
      const t0 = Date.now();
      await rejectsWithCode(bus.request(`nobody.${uid()}`, {}, { timeoutMs: 5000 }), 'ERR_BUS_NO_RESPONDER');
      assert.ok(Date.now() - t0 < 2000, 'no-responder must not wait for the deadline');
      await bus.drain();
    });

    it('request/reply - a slow responder hits the deadline with ERR_BUS_TIMEOUT', async () => {
      const bus = await h.bus();
      const subject = `slow.${uid()}`;
      const sub = bus.subscribe(subject, async () => {
        await new Promise((r) => setTimeout(r, 600));
      });
      await rejectsWithCode(bus.request(subject, {}, { timeoutMs: 150 }), 'ERR_BUS_TIMEOUT');
      await sub.unsubscribe();
      await bus.drain();
    });

    it('pub/sub - wildcards * and > match like NATS', async () => {
      const bus = await h.bus();
      const root = `w${uid()}`;
      const star: string[] = [];
      const tail: string[] = [];
      const s1 = bus.subscribe(`${root}.*.x`, (m) => {
        star.push(m.subject);
      });
      const s2 = bus.subscribe(`${root}.>`, (m) => {
        tail.push(m.subject);
      });
      await bus.flush(); // the subscriptions are registered before anything is published
      for (const s of [`${root}.a.x`, `${root}.b.y`, `${root}.a.x.z`, `${root}`]) bus.publish(s, 'hi');
      await bus.flush();
      await until(() => tail.length >= 3 && star.length >= 1, 'the wildcard deliveries');
      assert.deepEqual(star, [`${root}.a.x`]);
      assert.deepEqual(tail.sort(), [`${root}.a.x`, `${root}.a.x.z`, `${root}.b.y`]);
      await s1.unsubscribe();
      await s2.unsubscribe();
      await bus.drain();
    });

    it('pub/sub - a queue group delivers each message to exactly one member', async () => {
      const bus = await h.bus();
      const subject = `q.${uid()}`;
      const got: Record<string, number> = { a: 0, b: 0 };
      const sa = bus.subscribe(subject, () => void got.a!++, { queue: 'workers' });
      const sb = bus.subscribe(subject, () => void got.b!++, { queue: 'workers' });
      await bus.flush();
      for (let i = 0; i < 40; i++) bus.publish(subject, String(i));
      await bus.flush();
      await until(() => got.a! + got.b! >= 40, 'forty deliveries');
      await bus.flush(); // a member that got a copy too would have counted it by now
      assert.equal(got.a! + got.b!, 40);
      await sa.unsubscribe();
      await sb.unsubscribe();
      await bus.drain();
    });

    it('stream - publish resolves when stored and a duplicate message id is stored once', async () => {
      const bus = await h.bus();
      const name = `S${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`] });
      await bus.streams.ensure({ name, subjects: [`${name}.>`] }); // idempotent
      const a = await bus.streams.publish(`${name}.x`, 'one', { msgId: 'id-1' });
      const b = await bus.streams.publish(`${name}.x`, 'one again', { msgId: 'id-1' });
      const c = await bus.streams.publish(`${name}.x`, 'two', { msgId: 'id-2' });
      assert.equal(a.duplicate, false);
      assert.equal(b.duplicate, true);
      assert.equal(b.seq, a.seq);
      assert.equal(c.seq, a.seq + 1);
      assert.equal((await bus.streams.info(name)).messages, 2);
      await bus.drain();
    });

    it('stream - a publish to a subject no stream captures is refused', async () => {
      const bus = await h.bus();
      await rejectsWithCode(bus.streams.publish(`nostream${uid()}.x`, 'x'), 'ERR_STREAM_NO_MATCH');
      await bus.drain();
    });

    it('stream - a full stream refuses new messages (DiscardNew) instead of dropping old ones', async () => {
      const bus = await h.bus();
      const name = `F${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`], maxMsgs: 2 });
      await bus.streams.publish(`${name}.a`, '1');
      await bus.streams.publish(`${name}.a`, '2');
      await rejectsWithCode(bus.streams.publish(`${name}.a`, '3'), 'ERR_STREAM_FULL');
      const info = await bus.streams.info(name);
      assert.equal(info.messages, 2);
      assert.equal(info.firstSeq, 1);
      await bus.drain();
    });

    it('stream - a stream full by bytes keeps refusing and never evicts its oldest message', async () => {
      const bus = await h.bus();
      const name = `B${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`], maxBytes: 8192 });
      const big = 'x'.repeat(700);
      let stored = 0;
      for (let i = 0; i < 100; i++) {
        try {
          await bus.streams.publish(`${name}.a`, big);
          stored++;
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'ERR_STREAM_FULL');
          break;
        }
      }
      assert.ok(stored > 0 && stored < 100, `stored ${stored}`);
      // A full audit stream may take what still fits, but must never make room by dropping the oldest event
      // (nats-io/nats-server#4771: 2.9.x accepted small messages into a full DiscardNew stream and evicted old ones).
      let tiny = 0;
      let refused = false;
      for (let i = 0; i < 2000 && !refused; i++) {
        try {
          await bus.streams.publish(`${name}.a`, 'y');
          tiny++;
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'ERR_STREAM_FULL');
          refused = true;
        }
      }
      assert.ok(refused, 'a full stream ends up refusing even 1-byte messages');
      const info = await bus.streams.info(name);
      assert.equal(info.firstSeq, 1, 'the oldest message is still there');
      assert.equal(info.messages, stored + tiny);
      await bus.drain();
    });

    it('stream - an unacked message is redelivered after the ack wait, acked ones are not', async () => {
      const bus = await h.bus();
      const name = `R${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`] });
      await bus.streams.publish(`${name}.a`, 'keep');
      await bus.streams.publish(`${name}.a`, 'drop');
      const c = await bus.streams.consumer(name, { durable: 'worker', ackWaitMs: 1000 });
      const first = await c.fetch({ batch: 10, expiresMs: 1000 });
      assert.deepEqual(
        first.map((m) => new TextDecoder().decode(m.data)),
        ['keep', 'drop'],
      );
      await first[1]!.ack();
      const again = await c.fetch({ batch: 10, expiresMs: 3000 });
      assert.equal(again.length, 1);
      assert.equal(new TextDecoder().decode(again[0]!.data), 'keep');
      assert.equal(again[0]!.deliveryCount, 2);
      again[0]!.nak();
      const third = await c.fetch({ batch: 10, expiresMs: 2000 });
      assert.equal(third[0]?.deliveryCount, 3);
      await third[0]!.ack();
      assert.equal((await c.fetch({ batch: 10, expiresMs: 1000 })).length, 0);
      await bus.drain();
    });

    it('stream - ackNoWait acks without a round trip (the message leaves the work queue, is not redelivered); a read-ahead reader keeps order and hands back what it read ahead', async () => {
      const bus = await h.bus();
      const name = `AN${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`], retention: 'workqueue' });
      for (let i = 0; i < 7; i++) await bus.streams.publish(`${name}.x`, String(i), { msgId: `m${i}` });
      const c = await bus.streams.consumer(name, { durable: 'w', ackWaitMs: 1000 });
      const reader = new PrefetchingReader(c, { batch: 3, expiresMs: 1000 });
      const text = (ms: StreamMsg[]): string[] => ms.map((m) => new TextDecoder().decode(m.data));
      const first = await reader.next();
      assert.deepEqual(text(first), ['0', '1', '2']);
      for (const m of first) {
        assert.equal(typeof m.ackNoWait, 'function');
        m.ackNoWait?.();
      }
      const second = await reader.next();
      assert.deepEqual(text(second), ['3', '4', '5'], 'the batch read ahead, in order');
      for (const m of second) m.ackNoWait?.();
      // The third batch (6) is being read ahead: close hands it back at once, not after the ack wait.
      assert.equal(await reader.close(), 1);
      await bus.flush();
      const again = await c.fetch({ batch: 10, expiresMs: 1000 });
      assert.deepEqual(text(again), ['6']);
      assert.equal(again[0]!.deliveryCount, 2);
      await again[0]!.ack();
      // Past the ack wait nothing comes back: the acks sent without waiting were taken.
      await new Promise((r) => setTimeout(r, 1300));
      assert.equal((await c.fetch({ batch: 10, expiresMs: 1000 })).length, 0);
      assert.equal((await bus.streams.info(name)).messages, 0);
      await bus.drain();
    });

    it('stream - openReader: batches in stream order as messages arrive, empty when idle, close hands back at once what it read', async () => {
      const bus = await h.bus();
      const name = `R${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`], retention: 'workqueue' });
      // A long ack wait: anything close failed to hand back would stay away far longer than this test waits.
      const c = await bus.streams.consumer(name, { durable: 'r', ackWaitMs: 60_000 });
      const reader = openReader(c, { batch: 4, expiresMs: 1000, lingerMs: 20 });
      const text = (ms: StreamMsg[]): string[] => ms.map((m) => new TextDecoder().decode(m.data));
      const t0 = Date.now();
      assert.deepEqual(await reader.next(), [], 'nothing there: an empty batch');
      assert.ok(Date.now() - t0 >= 900, 'after about expiresMs');
      const publish = async (from: number, to: number): Promise<void> => {
        for (let i = from; i < to; i++) await bus.streams.publish(`${name}.x`, String(i), { msgId: `m${i}` });
      };
      await publish(0, 10);
      const got: string[] = [];
      while (got.length < 10) {
        const batch = await reader.next();
        assert.ok(batch.length <= 4, `at most batch messages (${batch.length})`);
        got.push(...text(batch));
        for (const m of batch) m.ackNoWait ? m.ackNoWait() : await m.ack();
      }
      assert.deepEqual(got, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      // Arriving while the reader waits: taken as they come.
      const later = reader.next();
      await publish(10, 20);
      const first = await later;
      assert.ok(first.length >= 1 && first.length <= 4);
      assert.deepEqual(
        text(first),
        Array.from({ length: first.length }, (_, i) => String(10 + i)),
      );
      for (const m of first) m.ackNoWait ? m.ackNoWait() : await m.ack();
      await reader.close();
      assert.deepEqual(await reader.next(), [], 'a closed reader hands out nothing');
      await bus.flush();
      // Everything not handed out comes back now and in order, not after the ack wait.
      const rest: string[] = [];
      for (const deadline = Date.now() + 5000; rest.length < 20 - 10 - first.length && Date.now() < deadline; ) {
        const batch = await c.fetch({ batch: 20, expiresMs: 1000 });
        rest.push(...text(batch));
        for (const m of batch) await m.ack();
      }
      assert.deepEqual(
        rest,
        Array.from({ length: 10 - first.length }, (_, i) => String(10 + first.length + i)),
      );
      await bus.drain();
    });

    it('stream - a consumer filter only sees its subjects', async () => {
      const bus = await h.bus();
      const name = `G${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`] });
      await bus.streams.publish(`${name}.a`, 'a');
      await bus.streams.publish(`${name}.b`, 'b');
      const c = await bus.streams.consumer(name, { durable: 'only-b', filterSubject: `${name}.b` });
      const got = await c.fetch({ batch: 10, expiresMs: 1000 });
      assert.deepEqual(
        got.map((m) => m.subject),
        [`${name}.b`],
      );
      await bus.drain();
    });

    it('stream - work queue: an acked message leaves the stream (delete/purge denied or not), an unacked one stays and comes back', async () => {
      const bus = await h.bus();
      const name = `WQ${uid()}`;
      const info0 = await bus.streams.ensure({ name, subjects: [`${name}.>`], retention: 'workqueue', denyDelete: true, denyPurge: true });
      assert.equal(info0.retention, 'workqueue');
      for (const v of ['a', 'b', 'c']) await bus.streams.publish(`${name}.x`, v, { msgId: v });
      const c = await bus.streams.consumer(name, { durable: 'masker', ackWaitMs: 1000 });
      const got = await c.fetch({ batch: 10, expiresMs: 1000 });
      assert.deepEqual(
        got.map((m) => new TextDecoder().decode(m.data)),
        ['a', 'b', 'c'],
      );
      const before = await bus.streams.info(name);
      await got[0]!.ack();
      await got[2]!.ack();
      const after = await bus.streams.info(name);
      assert.equal(after.messages, 1, 'the acked messages are gone although deny_delete and deny_purge are set');
      assert.ok(after.bytes < before.bytes);
      assert.equal(after.firstSeq, 2);
      assert.equal(after.lastSeq, 3);
      assert.equal(await bus.streams.get(name, 1), null);
      const again = await c.fetch({ batch: 10, expiresMs: 3000 });
      assert.deepEqual(
        again.map((m) => [new TextDecoder().decode(m.data), m.deliveryCount]),
        [['b', 2]],
      );
      await again[0]!.ack();
      const empty = await bus.streams.info(name);
      assert.deepEqual([empty.messages, empty.lastSeq], [0, 3]);
      // The de-duplication window outlives the message: a replayed id is still stored once.
      assert.equal((await bus.streams.publish(`${name}.x`, 'a again', { msgId: 'a' })).duplicate, true);
      await bus.drain();
    });

    it('stream - work queue: a full stream refuses (DiscardNew) and takes messages again once they are acked; fill shows it', async () => {
      const bus = await h.bus();
      const name = `WF${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`], retention: 'workqueue', maxMsgs: 3 });
      for (let i = 0; i < 3; i++) await bus.streams.publish(`${name}.x`, `m${i}`);
      await rejectsWithCode(bus.streams.publish(`${name}.x`, 'm3'), 'ERR_STREAM_FULL');
      const full = await bus.streams.fill(name);
      assert.deepEqual([full.stream, full.retention, full.messages, full.maxMsgs, full.maxBytes, full.ratio], [name, 'workqueue', 3, 3, null, 1]);
      const c = await bus.streams.consumer(name, { durable: 'w' });
      for (let round = 0; round < 3; round++) {
        const got = await c.fetch({ batch: 2, expiresMs: 1000 });
        assert.equal(got.length, 2);
        for (const m of got) await m.ack();
        await bus.streams.publish(`${name}.x`, `r${round}a`);
        await bus.streams.publish(`${name}.x`, `r${round}b`);
        await rejectsWithCode(bus.streams.publish(`${name}.x`, 'over'), 'ERR_STREAM_FULL');
      }
      const got = await c.fetch({ batch: 10, expiresMs: 1000 });
      for (const m of got) await m.ack();
      const done = await bus.streams.fill(name);
      assert.deepEqual([done.messages, done.ratio], [0, 0]);
      assert.equal((await bus.streams.info(name)).lastSeq, 9, 'nine messages went through a stream that holds three');
      await bus.drain();
    });

    it('stream - fill is the fuller of messages and bytes against the limits; an unlimited stream is at 0', async () => {
      const bus = await h.bus();
      const name = `FL${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`], maxMsgs: 10, maxBytes: 1_000_000 });
      for (let i = 0; i < 4; i++) await bus.streams.publish(`${name}.x`, 'x'.repeat(100));
      const f = await bus.streams.fill(name);
      assert.equal(f.ratio, 0.4, 'four of ten messages (bytes are far below their limit)');
      assert.ok(f.bytes >= 400 && f.bytes < 4000, `${f.bytes} bytes`);
      const open = `UL${uid()}`;
      await bus.streams.ensure({ name: open, subjects: [`${open}.>`] });
      await bus.streams.publish(`${open}.x`, 'x');
      assert.deepEqual([(await bus.streams.fill(open)).ratio, (await bus.streams.fill(open)).maxBytes], [0, null]);
      await rejectsWithCode(bus.streams.fill(`NOPE${uid()}`), 'ERR_STREAM_NOT_FOUND');
      await bus.drain();
    });

    it('stream - work queue: messages published before any consumer exists are kept for the first one', async () => {
      const bus = await h.bus();
      const name = `WE${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`], retention: 'workqueue' });
      await bus.streams.publish(`${name}.x`, 'early');
      assert.equal((await bus.streams.info(name)).messages, 1);
      const c = await bus.streams.consumer(name, { durable: 'late' });
      const got = await c.fetch({ batch: 10, expiresMs: 1000 });
      assert.deepEqual(
        got.map((m) => new TextDecoder().decode(m.data)),
        ['early'],
      );
      await got[0]!.ack();
      await bus.drain();
    });

    it('stream - work queue: one consumer per subject, delivering from the first message (ERR_CONSUMER_CONFLICT otherwise)', async () => {
      const bus = await h.bus();
      const name = `WC${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`], retention: 'workqueue' });
      await bus.streams.consumer(name, { durable: 'a', filterSubject: `${name}.a.>` });
      await bus.streams.consumer(name, { durable: 'a', filterSubject: `${name}.a.>`, ackWaitMs: 5000 }); // the same durable again
      await bus.streams.consumer(name, { durable: 'b', filterSubject: `${name}.b.*` });
      await rejectsWithCode(bus.streams.consumer(name, { durable: 'c', filterSubject: `${name}.*.x` }), 'ERR_CONSUMER_CONFLICT');
      await rejectsWithCode(bus.streams.consumer(name, { durable: 'd' }), 'ERR_CONSUMER_CONFLICT');
      await rejectsWithCode(bus.streams.consumer(name, { durable: 'e', filterSubject: `${name}.e`, deliverPolicy: 'new' }), 'ERR_CONSUMER_CONFLICT');
      await bus.drain();
    });

    it('stream - work queue: a restart keeps the removals and continues the sequence numbers', async () => {
      let bus = await h.bus();
      const name = `WR${uid()}`;
      const cfg = { name, subjects: [`${name}.>`], retention: 'workqueue' as const };
      await bus.streams.ensure(cfg);
      for (const v of ['1', '2', '3']) await bus.streams.publish(`${name}.a`, v);
      const c = await bus.streams.consumer(name, { durable: 'w', ackWaitMs: 1000 });
      const got = await c.fetch({ batch: 3, expiresMs: 1000 });
      await got[0]!.ack();
      await got[1]!.ack();
      bus = await h.restart(bus);
      await bus.streams.ensure(cfg);
      const info = await bus.streams.info(name);
      assert.deepEqual([info.messages, info.firstSeq, info.lastSeq], [1, 3, 3]);
      const c2 = await bus.streams.consumer(name, { durable: 'w', ackWaitMs: 1000 });
      const rest = await c2.fetch({ batch: 10, expiresMs: 1500 });
      assert.deepEqual(
        rest.map((m) => m.seq),
        [3],
      );
      await rest[0]!.ack();
      bus = await h.restart(bus);
      await bus.streams.ensure(cfg);
      assert.deepEqual([(await bus.streams.info(name)).messages, (await bus.streams.info(name)).lastSeq], [0, 3]);
      const ack = await bus.streams.publish(`${name}.a`, '4');
      assert.equal(ack.seq, 4, 'a sequence number is never handed out twice');
      const c3 = await bus.streams.consumer(name, { durable: 'w', ackWaitMs: 1000 });
      const next = await c3.fetch({ batch: 10, expiresMs: 1500 });
      assert.deepEqual(
        next.map((m) => new TextDecoder().decode(m.data)),
        ['4'],
      );
      await next[0]!.ack();
      await bus.drain();
    });

    it('stream - retention change: refused while a consumer has work (or kept on request), a drained stream is recreated with its numbering continued', async () => {
      const bus = await h.bus();
      const name = `RC${uid()}`;
      const limits = { name, subjects: [`${name}.>`], denyDelete: true, denyPurge: true };
      await bus.streams.ensure(limits);
      for (const v of ['1', '2']) await bus.streams.publish(`${name}.a`, v);
      // No consumer has read them: they cannot be dropped.
      await assert.rejects(bus.streams.ensure({ ...limits, retention: 'workqueue' }), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'ERR_STREAM_RETENTION');
        assert.match((err as Error).message, /no consumer has read its 2 message/);
        return true;
      });
      const c = await bus.streams.consumer(name, { durable: 'old' });
      const got = await c.fetch({ batch: 10, expiresMs: 1000 });
      await got[0]!.ack();
      await assert.rejects(bus.streams.ensure({ ...limits, retention: 'workqueue' }), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'ERR_STREAM_RETENTION');
        assert.match((err as Error).message, /old \(0 pending, 1 unacked\)/);
        return true;
      });
      const kept = await bus.streams.ensure({ ...limits, retention: 'workqueue', maxMsgs: 100 }, { retentionMismatch: 'keep' });
      assert.equal(kept.retention, 'limits', 'kept as it is so a consumer can drain it');
      assert.equal((await bus.streams.fill(name)).maxMsgs, 100, 'the other settings are taken');
      await bus.streams.publish(`${name}.a`, '3');
      const rest = await c.fetch({ batch: 10, expiresMs: 1000 });
      for (const m of [...rest, got[1]!]) await m.ack();
      const migrated = await bus.streams.ensure({ ...limits, retention: 'workqueue' });
      assert.deepEqual([migrated.retention, migrated.messages, migrated.lastSeq], ['workqueue', 0, 3]);
      assert.equal((await bus.streams.publish(`${name}.a`, '4')).seq, 4, 'sequence numbers continue');
      const fresh = await bus.streams.consumer(name, { durable: 'new' });
      const four = await fresh.fetch({ batch: 10, expiresMs: 1000 });
      assert.deepEqual(
        four.map((m) => m.seq),
        [4],
      );
      await four[0]!.ack();
      assert.equal((await bus.streams.info(name)).messages, 0);
      await bus.drain();
    });

    it('stream - retention change: the publisher can wait for the consumers to drain the old stream (drainWaitMs)', async () => {
      const bus = await h.bus();
      const name = `RW${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`] });
      for (const v of ['1', '2', '3']) await bus.streams.publish(`${name}.a`, v);
      const c = await bus.streams.consumer(name, { durable: 'drainer' });
      const draining = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        for (const m of await c.fetch({ batch: 10, expiresMs: 1000 })) await m.ack();
      })();
      const t0 = Date.now();
      const info = await bus.streams.ensure({ name, subjects: [`${name}.>`], retention: 'workqueue' }, { drainWaitMs: 10_000 });
      await draining;
      assert.deepEqual([info.retention, info.messages, info.lastSeq], ['workqueue', 0, 3]);
      assert.ok(Date.now() - t0 >= 250, 'it waited for the drain');
      assert.equal((await bus.streams.publish(`${name}.a`, '4')).seq, 4);
      await bus.drain();
    });

    it('kv - compare-and-set with a stale revision is rejected, create is exclusive, watch sees changes', async () => {
      const bus = await h.bus();
      const kv = await bus.kv(`kv${uid()}`);
      const seen: string[] = [];
      const w = await kv.watch('approvals.>', (e) => seen.push(`${e.key}=${e.operation === 'PUT' ? e.string() : 'DEL'}`));
      const r1 = await kv.create('approvals.a1', 'pending');
      await rejectsWithCode(kv.create('approvals.a1', 'again'), 'ERR_KV_EXISTS');
      const r2 = await kv.update('approvals.a1', 'approved', r1);
      assert.ok(r2 > r1);
      await rejectsWithCode(kv.update('approvals.a1', 'denied', r1), 'ERR_KV_WRONG_REVISION');
      const e = await kv.get('approvals.a1');
      assert.equal(e?.string(), 'approved');
      assert.equal(e?.revision, r2);
      await kv.delete('approvals.a1');
      assert.equal(await kv.get('approvals.a1'), null);
      await until(() => seen.length >= 3, 'three watch callbacks');
      assert.deepEqual(seen, ['approvals.a1=pending', 'approvals.a1=approved', 'approvals.a1=DEL']);
      await w.stop();
      await bus.drain();
    });

    it('stream - a durable publish while the store is down fails with an error, no hang; then it resumes', async () => {
      let bus = await h.bus();
      const name = `D${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`] });
      await bus.streams.publish(`${name}.a`, 'before');
      const back = await h.outage(bus);
      const t0 = Date.now();
      await assert.rejects(bus.streams.publish(`${name}.a`, 'during', { timeoutMs: 2000 }), (err: unknown) => {
        assert.match(String((err as { code?: string }).code), /^ERR_BUS_(UNAVAILABLE|CLOSED|TIMEOUT)$/);
        return true;
      });
      assert.ok(Date.now() - t0 < 3000, 'must fail within the deadline');
      bus = await back();
      const ack = await bus.streams.publish(`${name}.a`, 'after');
      assert.equal(ack.seq, 2);
      await bus.drain();
    });

    it('stream - a restart loses nothing: stored messages and consumer positions survive', async () => {
      let bus = await h.bus();
      const name = `P${uid()}`;
      await bus.streams.ensure({ name, subjects: [`${name}.>`] });
      for (const v of ['1', '2', '3']) await bus.streams.publish(`${name}.a`, v, { msgId: `m${v}` });
      const c = await bus.streams.consumer(name, { durable: 'w', ackWaitMs: 1000 });
      const got = await c.fetch({ batch: 1, expiresMs: 1000 });
      await got[0]!.ack();
      bus = await h.restart(bus);
      await bus.streams.ensure({ name, subjects: [`${name}.>`] });
      assert.equal((await bus.streams.publish(`${name}.a`, 'dup', { msgId: 'm3' })).duplicate, true);
      const c2 = await bus.streams.consumer(name, { durable: 'w', ackWaitMs: 1000 });
      const rest = await c2.fetch({ batch: 10, expiresMs: 1500 });
      assert.deepEqual(
        rest.map((m) => new TextDecoder().decode(m.data)),
        ['2', '3'],
      );
      for (const m of rest) await m.ack();
      await bus.drain();
    });

    it('service - SIGTERM lets the request being handled finish before the process exits', async () => {
      const bus = await h.bus();
      const subject = `sigterm.${uid()}`;
      const child = spawn(
        process.execPath,
        ['--conditions=agentgate-source', '--import', 'tsx', fileURLToPath(new URL('./fixtures/slow-service.ts', import.meta.url))],
        { env: { ...process.env, ...h.childEnv(), SUBJECT: subject }, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const waitFor = async (text: string): Promise<void> => {
        // A generous start bound (a loaded machine takes long to load tsx); on failure the child is not left running.
        for (let i = 0; i < 1200 && !out.includes(text) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
        if (!out.includes(text)) child.kill('SIGKILL');
        assert.ok(out.includes(text), `child never printed "${text}": ${out}`);
      };
      await waitFor('ready');
      if (bus.transport === 'nats') {
        const reply = bus.request<{ done: boolean }>(subject, { work: 1 }, { timeoutMs: 10_000 });
        await waitFor('handling');
        child.kill('SIGTERM');
        assert.deepEqual(await reply, { done: true });
      } else {
        // in-process: the child is its own bus; it asks itself and reports the reply
        child.kill('SIGUSR2');
        await waitFor('handling');
        child.kill('SIGTERM');
        await waitFor('reply {"done":true}');
      }
      assert.equal(await exited, 0);
      await bus.drain();
    });
  });
}
