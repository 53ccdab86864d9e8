import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inOrderWindow } from './publish-window.js';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('publish window - starts work in order and never runs more than the limit at once', async () => {
  const started: number[] = [];
  let running = 0;
  let peak = 0;
  await inOrderWindow(
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    3,
    async (n) => {
      started.push(n);
      running++;
      peak = Math.max(peak, running);
      await tick(10 - n);
      running--;
    },
    () => assert.fail('nothing skipped'),
  );
  assert.deepEqual(started, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(peak, 3);
});

test('publish window - after a failure no later item starts; they are skipped', async () => {
  const started: number[] = [];
  const skipped: number[] = [];
  const r = await inOrderWindow(
    [1, 2, 3, 4, 5],
    1,
    async (n) => {
      started.push(n);
      if (n === 2) throw new Error('publish failed');
    },
    (n) => skipped.push(n),
  );
  assert.deepEqual(started, [1, 2]);
  assert.deepEqual(skipped, [3, 4, 5]);
  assert.deepEqual(r, { failed: 1, skipped: 3 });
});
