import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FillLevelChange, FillMonitor, InprocBus } from '../src/index.js';

test('fill monitor - reports each threshold crossing once, up and (with hysteresis) down, and keeps the last reading', async () => {
  const bus = new InprocBus();
  await bus.streams.ensure({ name: 'Q', subjects: ['q.>'], retention: 'workqueue', maxMsgs: 100 });
  const changes: FillLevelChange[] = [];
  const mon = new FillMonitor(bus.streams, { streams: ['Q', 'NOT_YET'], thresholds: [0.5, 0.8], onChange: (c) => changes.push(c) });
  const summary = (): Array<[number, number, number, boolean]> => changes.map((c) => [c.previous, c.level, c.threshold, c.top]);
  await mon.check();
  assert.deepEqual(changes, []);
  for (let i = 0; i < 50; i++) await bus.streams.publish('q.x', 'x');
  await mon.check();
  await mon.check();
  assert.deepEqual(summary(), [[0, 1, 0.5, false]]);
  for (let i = 0; i < 40; i++) await bus.streams.publish('q.x', 'x');
  await mon.check();
  assert.deepEqual(summary().at(-1), [1, 2, 0.8, true]);
  assert.equal(mon.latest().length, 1, 'a stream that does not exist yet has no reading');
  assert.deepEqual([mon.latest()[0]?.stream, mon.latest()[0]?.ratio], ['Q', 0.9]);
  const c = await bus.streams.consumer('Q', { durable: 'w' });
  const ack = async (n: number): Promise<void> => {
    for (const m of await c.fetch({ batch: n, expiresMs: 50 })) await m.ack();
  };
  await ack(15); // 0.75: below 0.8 but not below 0.72
  await mon.check();
  assert.equal(changes.length, 2, 'no flapping just under a threshold');
  await ack(15); // 0.6
  await mon.check();
  assert.deepEqual(summary().at(-1), [2, 1, 0.8, false]);
  await ack(60); // 0
  await mon.check();
  assert.deepEqual(summary().at(-1), [1, 0, 0.5, false]);
  assert.equal(changes.length, 4);
  await bus.drain();
});
