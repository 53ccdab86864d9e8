/**
 * Child process of the throughput bench (`--rate`): publishes raw events at a fixed rate, so the
 * bench process measures only the consumer's CPU. Told what to do over IPC:
 * `{ natsUrl, subjectPrefix?, rate, n, secret }`; answers `{ ready }` once connected with its events
 * built, starts on `{ go }` and answers `{ published }` once all are stored.
 * Every 5 ms it publishes what the rate owes by then (like a proxy's events arriving steadily).
 */
import { createBus } from '@agentgate/bus';
import { encodeEvent, rawSubject } from '@agentgate/events';
import { corpus } from './corpus.js';

interface Order {
  natsUrl: string;
  /** Replaces the `audit.raw` prefix of each subject (the plain republish reads `bench.in.>`). */
  subjectPrefix?: string;
  rate: number;
  n: number;
  secret: string;
}

process.once('message', async (o: Order) => {
  const bus = await createBus({ natsUrl: o.natsUrl, name: 'bench-feeder' });
  const msgs = corpus(o.n, o.secret).map((e) => {
    const subject = rawSubject(e);
    return {
      subject: o.subjectPrefix === undefined ? subject : `${o.subjectPrefix}${subject.slice('audit.raw'.length)}`,
      data: encodeEvent(e),
      id: e.event.id,
    };
  });
  process.send?.({ ready: true });
  await new Promise((resolve) => process.once('message', resolve));
  const acks: Promise<unknown>[] = [];
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const owed = Math.min(o.n, Math.floor(((performance.now() - start) / 1000) * o.rate));
      for (; sent < owed; sent++) acks.push(bus.streams.publish(msgs[sent]!.subject, msgs[sent]!.data, { msgId: msgs[sent]!.id }));
      if (sent >= o.n) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  await Promise.all(acks);
  process.send?.({ published: sent });
  await bus.drain();
  process.disconnect?.();
});
