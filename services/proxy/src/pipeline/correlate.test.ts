import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import type { Logger } from '@agentgate/log';
import type { AdapterServices, Classification } from '../adapters/types.js';
import { correlate } from './correlate.js';

const principal = { issuer: 'i', subject: 's', groups: [], claims: {}, ci: { provider: 'generic' as const }, sessionId: 'sess', expiresAt: 0 };

test('correlate - a lookup slower than its budget is logged as ERR_CORRELATION_TIMEOUT and the action goes on unlinked', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const warned: Array<Record<string, unknown>> = [];
    const log = { warn: (fields: Record<string, unknown>) => warned.push(fields) } as unknown as Logger;
    const services = { exchanges: { recent: () => new Promise(() => {}), add: async () => {} } } as unknown as AdapterServices;
    const c: Classification = { kind: 'http.post', attributes: { path: '/x' } };
    const pending = correlate(services, principal, c, () => log);
    await Promise.resolve();
    mock.timers.tick(1000);
    assert.equal(await pending, c);
    assert.deepEqual(warned, [{ code: 'ERR_CORRELATION_TIMEOUT' }]);
  } finally {
    mock.timers.reset();
  }
});

test('correlate - a store that answers from memory (recentNow) links without the timed lookup; undefined falls back to it', async () => {
  const exchange = { id: 'ex-1', at: 1, toolCalls: [] };
  let timed = 0;
  const store = (now: readonly (typeof exchange)[] | undefined) =>
    ({
      exchanges: {
        recentNow: () => now,
        recent: async () => {
          timed++;
          return [exchange];
        },
        add: async () => {},
      },
    }) as unknown as AdapterServices;
  const c: Classification = { kind: 'http.post', attributes: { path: '/x' } };
  const log = (): Logger => ({ warn: () => {} }) as unknown as Logger;
  assert.deepEqual((await correlate(store([exchange]), principal, c, log)).audit?.link, { exchange_id: 'ex-1', rule: 'latest-exchange' });
  assert.equal(timed, 0);
  // Nothing in memory for the session: no link, and still no lookup.
  assert.equal(await correlate(store([]), principal, c, log), c);
  assert.equal(timed, 0);
  // The store cannot answer from memory (watch not live): the bucket is read.
  assert.deepEqual((await correlate(store(undefined), principal, c, log)).audit?.link, { exchange_id: 'ex-1', rule: 'latest-exchange' });
  assert.equal(timed, 1);
});
