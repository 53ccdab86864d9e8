import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokeredSource } from './brokered-secrets.js';

test('brokered secrets - fetched once per refresh period, one fetch in flight, short values left out', async () => {
  let calls = 0;
  let now = 1000;
  const src = brokeredSource(
    async () => {
      calls++;
      return [
        { ref: 'a', value: 'long-enough-value' },
        { ref: 'b', value: 'short' },
      ];
    },
    60_000,
    () => now,
  );
  const [x, y] = await Promise.all([src(), src()]);
  assert.equal(calls, 1);
  assert.equal(x, y);
  assert.deepEqual(x.secrets, [{ ref: 'a', value: 'long-enough-value' }]);
  now += 59_000;
  assert.equal((await src()).version, x.version);
  now += 2_000;
  const z = await src();
  assert.equal(calls, 2);
  assert.notEqual(z.version, x.version);
});

test('brokered secrets - a failed fetch rejects (callers fail closed) and the next call tries again', async () => {
  let fail = true;
  const src = brokeredSource(async () => {
    if (fail) throw new Error('no responders');
    return [{ ref: 'a', value: 'long-enough-value' }];
  }, 60_000);
  await assert.rejects(src(), /no responders/);
  fail = false;
  assert.equal((await src()).secrets.length, 1);
});
