import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Bus } from '@agentgate/bus';
import { Authenticator, challenge, extractToken } from './authenticate.js';

const req = (authorization?: string, extra: string[] = []) => ({
  headers: authorization === undefined ? {} : { authorization },
  rawHeaders: [...(authorization === undefined ? [] : ['Authorization', authorization]), ...extra],
});
const code = (r: ReturnType<typeof req>): string | undefined => {
  try {
    extractToken(r);
    return undefined;
  } catch (err) {
    return (err as { code: string }).code;
  }
};

test('auth header - Bearer and Basic (token as password) are accepted', () => {
  assert.deepEqual(extractToken(req('Bearer a.b.c')), { token: 'a.b.c', scheme: 'bearer' });
  assert.deepEqual(extractToken(req('bearer a.b.c')), { token: 'a.b.c', scheme: 'bearer' });
  const basic = `Basic ${Buffer.from('x-access-token:h.p.s').toString('base64')}`;
  assert.deepEqual(extractToken(req(basic)), { token: 'h.p.s', scheme: 'basic' });
});

test('auth header - missing, malformed, unknown scheme and duplicates are refused', () => {
  assert.equal(code(req()), 'ERR_AUTH_MISSING');
  assert.equal(code(req('')), 'ERR_AUTH_MISSING');
  for (const h of [
    'Bearer',
    'Bearer a b',
    'Digest x',
    'Basic ###',
    `Basic ${Buffer.from('user').toString('base64')}`,
    `Basic ${Buffer.from('user:').toString('base64')}`,
  ]) {
    assert.equal(code(req(h)), 'ERR_AUTH_MALFORMED', h);
  }
  assert.equal(code(req('Bearer a', ['authorization', 'Bearer b'])), 'ERR_AUTH_MALFORMED');
});

test('auth header - the Bearer challenge description cannot break out of its quotes', () => {
  const h = challenge('bearer', 'bad "token"\r\nx: y')['www-authenticate'] ?? '';
  assert.ok(!/[\r\n]/.test(h));
  // realm, error and error_description: three quoted values, nothing else quoted.
  assert.equal((h.match(/"/g) ?? []).length, 6);
});

/** A bus that answers identity.verify with a principal per token and counts the round trips (the cache is what is tested). */
function verifyingBus(expiresAt: (token: string) => number): { bus: Bus; calls: () => number } {
  let calls = 0;
  const bus = {
    request: async (_subject: string, body: { token: string }) => {
      calls++;
      return { subject: `sub-${body.token}`, sessionId: `s-${body.token}`, expiresAt: expiresAt(body.token) };
    },
  } as unknown as Bus;
  return { bus, calls: () => calls };
}

test('auth cache - a verified principal is reused within the TTL; the least recently used goes first when full', async () => {
  const { bus, calls } = verifyingBus(() => Math.floor(Date.now() / 1000) + 3600);
  const auth = new Authenticator(bus, { timeoutMs: 1000, cacheTtlMs: 60_000, cacheMax: 2 });
  const as = (t: string) => auth.authenticate(req(`Bearer ${t}`), 'bearer');
  assert.equal((await as('a')).principal.subject, 'sub-a');
  await as('b');
  await as('a');
  assert.equal(calls(), 2, 'a came from the cache');
  await as('c');
  await as('a');
  assert.equal(calls(), 3, 'a, recently used, stayed');
  await as('b');
  assert.equal(calls(), 4, 'b, the least recently used, was evicted');
});

test('auth cache - never past the token expiry; a TTL of 0 disables it', async () => {
  const expired = verifyingBus(() => Math.floor(Date.now() / 1000) - 1);
  const auth = new Authenticator(expired.bus, { timeoutMs: 1000, cacheTtlMs: 60_000, cacheMax: 10 });
  await auth.authenticate(req('Bearer x'), 'bearer');
  await auth.authenticate(req('Bearer x'), 'bearer');
  assert.equal(expired.calls(), 2, 'an expired principal is not cached');
  const live = verifyingBus(() => Math.floor(Date.now() / 1000) + 3600);
  const off = new Authenticator(live.bus, { timeoutMs: 1000, cacheTtlMs: 0, cacheMax: 10 });
  await off.authenticate(req('Bearer x'), 'bearer');
  await off.authenticate(req('Bearer x'), 'bearer');
  assert.equal(live.calls(), 2);
});
