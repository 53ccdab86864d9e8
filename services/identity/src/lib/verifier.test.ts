import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKeyPair, jwtVerify } from 'jose';
import { mapJoseError } from './verifier.js';

test('verifier - jose itself refuses an unknown crit header, and that maps to ERR_TOKEN_CRIT', async () => {
  // Defence in depth: our precheck refuses crit first; this proves jose's own check is still on.
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const { sign } = await import('node:crypto');
  const { KeyObject } = await import('node:crypto');
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'ES256', crit: ['x-ext'], 'x-ext': 1 })}.${enc({ sub: 's', exp: 2_000_000_000 })}`;
  const sig = sign('sha256', Buffer.from(input), { key: KeyObject.from(privateKey as never), dsaEncoding: 'ieee-p1363' });
  const err = await jwtVerify(`${input}.${sig.toString('base64url')}`, publicKey).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err, 'jose refused the token');
  const mapped = mapJoseError(err, { issuer: 'https://i.example' } as never);
  assert.equal(mapped.code, 'ERR_TOKEN_CRIT');
});

test('verifier - an unrecognised library error still refuses (fail closed)', () => {
  const mapped = mapJoseError(new TypeError('boom'), { issuer: 'https://i.example' } as never);
  assert.equal(mapped.code, 'ERR_TOKEN_SIGNATURE');
});
