import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CiIssuer, githubClaims, type OidcProvider, startCiIssuer, startOidcProvider } from '@agentgate/testkit';
import { IdentityVerifier } from '../src/index.js';
import { rejection } from './helpers.js';

/** A clock the test can move forward. */
function clock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => (offset += ms) };
}

describe('identity key rotation', () => {
  let ci: CiIssuer;
  let op: OidcProvider;
  before(async () => {
    ci = await startCiIssuer({ alg: 'PS256' });
    op = await startOidcProvider();
  });
  after(async () => {
    await ci.close();
    await op.close();
  });

  test('rotation - CI issuer rotates; new tokens verify without a restart, old-key tokens while published', async () => {
    const c = clock();
    const v = new IdentityVerifier(
      { issuers: [{ name: 'ci', issuer: ci.issuer, audiences: [ci.audience], profile: 'github-actions', algorithms: ['PS256'] }] },
      { cache: { maxEntries: 0 }, jwks: { cooldownSec: 30, maxAgeSec: 600 }, now: c.now },
    );
    const oldKid = ci.currentKid;
    await v.verify(await ci.mint(githubClaims()));
    assert.equal(v.jwksFetches(ci.issuer), 1);

    const newKid = await ci.rotateKey();
    assert.notEqual(newKid, oldKid);
    c.advance(31_000);
    const p = await v.verify(await ci.mint(githubClaims({ run_id: '2' })));
    assert.equal(p.ci.run, '2');
    assert.equal(v.jwksFetches(ci.issuer), 2, 'the unknown kid triggered one refetch');

    // The old key is still published: its tokens still verify, from the refetched set.
    await v.verify(await ci.mint(githubClaims({ run_id: '3' }), { kid: oldKid }));
    assert.equal(v.jwksFetches(ci.issuer), 2);

    // Once retired and the cached set has aged out, old-key tokens are refused.
    ci.retireOldKeys();
    c.advance(601_000);
    const err = await rejection(v.verify(await ci.mint(githubClaims({ run_id: '4' }), { kid: oldKid, issuedAt: 601, expiresIn: 1200 })));
    assert.equal(err.code, 'ERR_TOKEN_KID_UNKNOWN');
    await v.verify(await ci.mint(githubClaims({ run_id: '5' }), { issuedAt: 601, expiresIn: 1200 }));
  });

  test('rotation - oidc-provider rotates its signing key; both keys verify while published', async () => {
    const c = clock();
    const v = new IdentityVerifier({ issuers: [{ name: 'op', issuer: op.issuer, audiences: [op.audience] }] }, { cache: { maxEntries: 0 }, now: c.now });
    const before = await op.getToken();
    await v.verify(before);
    const fetches = v.jwksFetches(op.issuer);

    await op.rotateKey();
    c.advance(31_000);
    const afterRotation = await op.getToken();
    assert.notEqual(
      JSON.parse(Buffer.from(afterRotation.split('.')[0] as string, 'base64url').toString()).kid,
      JSON.parse(Buffer.from(before.split('.')[0] as string, 'base64url').toString()).kid,
    );
    const p = await v.verify(afterRotation);
    assert.equal(p.subject, op.clientId);
    assert.equal(v.jwksFetches(op.issuer), fetches + 1);
    // The pre-rotation token still verifies: its key is still published.
    const again = await v.verify(before);
    assert.equal(again.subject, op.clientId);
  });
});
