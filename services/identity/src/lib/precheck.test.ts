import assert from 'node:assert/strict';
import { test } from 'node:test';
import { precheck } from './precheck.js';

const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

test('precheck - size is checked before anything is parsed', () => {
  // Not even valid base64url: still TOO_LARGE, proving no decoding happened first.
  assert.throws(() => precheck('!'.repeat(20_000), 16_384), { code: 'ERR_TOKEN_TOO_LARGE' });
  assert.throws(() => precheck(`${'é'.repeat(9000)}`, 16_384), { code: 'ERR_TOKEN_TOO_LARGE' });
});

test('precheck - alg none in any case and HS* are refused', () => {
  for (const alg of ['none', 'None', 'NONE', 'HS256', 'HS512']) {
    assert.throws(() => precheck(`${enc({ alg })}.${enc({ iss: 'x' })}.c2ln`, 16_384), { code: 'ERR_TOKEN_ALG' }, alg);
  }
});

test('precheck - shapes that are not a compact JWS are malformed', () => {
  for (const t of ['', 'abc', 'a.b', 'a.b.c.d.e', 'a b.c.d', `${enc({ alg: 'RS256' })}.bm90IGpzb24.sig`, `${enc({})}.${enc({})}.sig`]) {
    assert.throws(() => precheck(t, 16_384), { code: 'ERR_TOKEN_MALFORMED' }, t);
  }
});
