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
