import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CiIssuer, githubClaims, startCiIssuer } from '@agentgate/testkit';
import { IdentityVerifier } from '../src/index.js';
import { rejection } from './helpers.js';

function clock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => (offset += ms) };
}

describe('identity cache and JWKS fetching', () => {
  let ci: CiIssuer;
  before(async () => {
    ci = await startCiIssuer();
  });
  after(async () => {
    await ci.close();
  });

  const cfg = () => ({
    issuers: [{ name: 'ci', issuer: ci.issuer, audiences: [ci.audience], profile: 'github-actions' as const, jwksUri: ci.jwksUri }],
  });

  test('cache - second verification of the same token does not re-verify', async () => {
    const v = new IdentityVerifier(cfg());
    const token = await ci.mint(githubClaims());
    const a = await v.verify(token);
    const b = await v.verify(token);
    assert.equal(a, b);
    assert.equal(v.stats().verifications, 1);
    assert.equal(v.stats().cacheHits, 1);
    await v.verify(await ci.mint(githubClaims({ run_id: '9' })));
    assert.equal(v.stats().verifications, 2);
  });

  test('cache - a cached token is not served past its exp', async () => {
    const c = clock();
    const v = new IdentityVerifier(cfg(), { now: c.now });
    const token = await ci.mint(githubClaims(), { expiresIn: 60 });
    await v.verify(token);
    c.advance(120_000);
    const err = await rejection(v.verify(token));
    assert.equal(err.code, 'ERR_TOKEN_EXPIRED');
    assert.equal(v.stats().verifications, 2);
  });

  test('cache - entries live at most ttl, the size is bounded (LRU)', async () => {
    const c = clock();
    const v = new IdentityVerifier(cfg(), { cache: { maxEntries: 2, ttlSec: 10 }, now: c.now });
    const t1 = await ci.mint(githubClaims({ run_id: '1' }));
    const t2 = await ci.mint(githubClaims({ run_id: '2' }));
    const t3 = await ci.mint(githubClaims({ run_id: '3' }));
    await v.verify(t1);
    await v.verify(t2);
    await v.verify(t1); // t1 is now the most recent
    await v.verify(t3); // evicts t2
    assert.equal(v.stats().cacheSize, 2);
    const n = v.stats().verifications;
    await v.verify(t1);
    assert.equal(v.stats().verifications, n, 't1 still cached');
    await v.verify(t2);
    assert.equal(v.stats().verifications, n + 1, 't2 was evicted');
    c.advance(11_000);
    await v.verify(t1);
    assert.equal(v.stats().verifications, n + 2, 'ttl expired');
  });

  test('cache - refused tokens are not cached', async () => {
    const v = new IdentityVerifier(cfg());
    const token = await ci.mint(githubClaims(), { audience: 'nope' });
    await rejection(v.verify(token));
    await rejection(v.verify(token));
    assert.equal(v.stats().verifications, 2);
    assert.equal(v.stats().refused, 2);
  });

  test('jwks - unknown kids refetch at most once per cooldown', async () => {
    const c = clock();
    const v = new IdentityVerifier(cfg(), { jwks: { cooldownSec: 30 }, now: c.now });
    await v.verify(await ci.mint(githubClaims()));
    assert.equal(v.jwksFetches(ci.issuer), 1);
    const before = ci.jwksRequests;
    for (let i = 0; i < 20; i++) {
      const err = await rejection(v.verify(await ci.mint(githubClaims(), { kid: `random-${i}`, signWith: 'foreign' })));
      assert.equal(err.code, 'ERR_TOKEN_KID_UNKNOWN');
    }
    // Within the cooldown of the first fetch: no refetch at all.
    assert.equal(ci.jwksRequests, before);
    c.advance(31_000);
    for (let i = 0; i < 5; i++) await rejection(v.verify(await ci.mint(githubClaims(), { kid: `late-${i}`, signWith: 'foreign' })));
    assert.equal(ci.jwksRequests, before + 1, 'one refetch after the cooldown');
  });

  test('jwks - concurrent first verifications share one fetch', async () => {
    const v = new IdentityVerifier(cfg());
    const before = ci.jwksRequests;
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => ci.mint(githubClaims({ run_id: String(i) }))));
    await Promise.all(tokens.map((t) => v.verify(t)));
    assert.equal(ci.jwksRequests, before + 1);
  });

  test('jwks - while the issuer is down tokens are refused, and accepted again once it is back', async () => {
    const c = clock();
    const v = new IdentityVerifier(cfg(), { jwks: { cooldownSec: 5 }, now: c.now });
    ci.setDown(true);
    try {
      const token = await ci.mint(githubClaims());
      assert.equal((await rejection(v.verify(token))).code, 'ERR_JWKS_UNAVAILABLE');
      const before = ci.jwksRequests;
      assert.equal((await rejection(v.verify(token))).code, 'ERR_JWKS_UNAVAILABLE');
      assert.equal(ci.jwksRequests, before, 'no refetch storm while down');
      ci.setDown(false);
      c.advance(6_000);
      const p = await v.verify(token);
      assert.equal(p.ci.repository, 'acme/app');
    } finally {
      ci.setDown(false);
    }
  });

  test('jwks - discovery of an unreachable issuer fails closed', async () => {
    const v = new IdentityVerifier({ issuers: [{ name: 'gone', issuer: 'http://127.0.0.1:9/', audiences: ['agentgate'] }] }, { jwks: { timeoutMs: 500 } });
    const token = await ci.mint(githubClaims(), { issuer: 'http://127.0.0.1:9/' });
    const err = await rejection(v.verify(token));
    assert.equal(err.code, 'ERR_JWKS_UNAVAILABLE');
    assert.match(err.message, /discovery/);
  });

  test('jwks - a plain-http JWKS URL off loopback is refused without being fetched', async () => {
    const v = new IdentityVerifier({
      issuers: [{ name: 'ci', issuer: ci.issuer, audiences: [ci.audience], jwksUri: 'http://jwks.invalid/keys' }],
    });
    const err = await rejection(v.verify(await ci.mint(githubClaims({}))));
    assert.equal(err.code, 'ERR_JWKS_UNAVAILABLE');
    assert.match(err.message, /not https/);
  });
});
