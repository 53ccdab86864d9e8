import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, retry, sleep } from './backoff.js';

test('backoff - equal jitter: the wait lies in [cap/2, cap], the cap doubles from baseMs up to maxMs', () => {
  const low = (attempt: number): number => backoffMs(attempt, { random: () => 0 });
  const high = (attempt: number): number => backoffMs(attempt, { random: () => 1 });
  assert.deepEqual([0, 1, 2, 3, 5, 6, 40].map(low), [50, 100, 200, 400, 1600, 2500, 2500]);
  assert.deepEqual([0, 1, 2, 3, 5, 6, 40].map(high), [100, 200, 400, 800, 3200, 5000, 5000]);
  assert.equal(backoffMs(3, { baseMs: 250, maxMs: 2000, random: () => 0.5 }), 1500);
  // Never below half the cap: a failing sink is not hit again within a few milliseconds.
  for (let i = 0; i < 2000; i++) {
    const attempt = i % 8;
    const cap = Math.min(5000, 100 * 2 ** attempt);
    const ms = backoffMs(attempt);
    assert.ok(ms >= cap / 2 && ms <= cap, `attempt ${attempt}: ${ms} ms outside [${cap / 2}, ${cap}]`);
  }
});

test('backoff - sleep resolves at once when its signal aborts', async () => {
  const abort = new AbortController();
  const t0 = Date.now();
  const p = sleep(10_000, abort.signal);
  abort.abort();
  await p;
  assert.ok(Date.now() - t0 < 1000);
  await sleep(10_000, abort.signal); // already aborted: no wait
});

test('backoff - retry repeats retryable failures, throws others and stops when giveUp says so', async () => {
  const transient = Object.assign(new Error('busy'), { code: 'ERR_BUSY' });
  let calls = 0;
  const seen: number[] = [];
  const value = await retry(
    async () => {
      if (++calls < 3) throw transient;
      return 'ok';
    },
    { retryable: (e) => (e as { code?: string }).code === 'ERR_BUSY', onRetry: (a) => seen.push(a), baseMs: 1, maxMs: 2 },
  );
  assert.equal(value, 'ok');
  assert.deepEqual(seen, [0, 1]);

  await assert.rejects(
    retry(async () => Promise.reject(new Error('bad')), { retryable: () => false, baseMs: 1 }),
    /bad/,
  );
  let tries = 0;
  await assert.rejects(
    retry(
      async () => {
        tries++;
        throw transient;
      },
      { retryable: () => true, giveUp: () => tries >= 2, baseMs: 1 },
    ),
    { code: 'ERR_BUSY' },
  );
  assert.equal(tries, 2);
});
