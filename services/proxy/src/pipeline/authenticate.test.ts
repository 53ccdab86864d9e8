import assert from 'node:assert/strict';
import { test } from 'node:test';
import { challenge, extractToken } from './authenticate.js';

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
  for (const h of ['Bearer', 'Bearer a b', 'Digest x', 'Basic ###', `Basic ${Buffer.from('user').toString('base64')}`, `Basic ${Buffer.from('user:').toString('base64')}`]) {
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
