import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withTimeout } from './timeout.js';

test('withTimeout - passes a value or a rejection through when it settles in time', async () => {
  assert.equal(await withTimeout(Promise.resolve(7), 1000), 7);
  await assert.rejects(withTimeout(Promise.reject(new Error('boom')), 1000), /boom/);
});

test('withTimeout - rejects with "timeout" when the promise has not settled within ms', async () => {
  // withTimeout's own timer is unref'd: this one keeps the test's event loop alive meanwhile.
  const keepAlive = setTimeout(() => {}, 5_000);
  const t0 = Date.now();
  try {
    await assert.rejects(withTimeout(new Promise<never>(() => {}), 50), /^Error: timeout$/);
    assert.ok(Date.now() - t0 >= 45, 'not before the time is up');
  } finally {
    clearTimeout(keepAlive);
  }
});
