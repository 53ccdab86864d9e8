import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type AttackerJwks, githubClaims, gitlabClaims, startAttackerJwks } from '@agentgate/testkit';
import { SignJWT } from 'jose';
import { IdentityVerifier } from '../src/index.js';
import { configFor, type Issuers, rejection, startIssuers } from './helpers.js';

describe('identity refusals', () => {
  let iss: Issuers;
  let attacker: AttackerJwks;
  let v: IdentityVerifier;
  before(async () => {
    iss = await startIssuers();
    attacker = await startAttackerJwks();
  });
  after(async () => {
    await iss.close();
    await attacker.close();
  });
  beforeEach(() => {
    v = new IdentityVerifier(configFor(iss));
  });

  const refused = async (token: Promise<string> | string, code: string): Promise<string> => {
    const err = await rejection(v.verify(await token));
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    assert.ok(err.message.length > 10, 'a clear reason is given');
    return err.message;
  };

  test('refusal - expired token', async () => {
    await refused(iss.gh.mint(githubClaims(), { expiresIn: -60 }), 'ERR_TOKEN_EXPIRED');
  });

  test('refusal - expiry within the clock tolerance still verifies', async () => {
    const p = await v.verify(await iss.gh.mint(githubClaims(), { expiresIn: -2 }));
    assert.equal(p.ci.repository, 'acme/app');
  });

  test('refusal - token not yet valid (nbf in the future)', async () => {
    await refused(iss.gh.mint(githubClaims(), { notBefore: 120 }), 'ERR_TOKEN_NOT_YET_VALID');
  });

  test('refusal - iat one hour in the future without nbf', async () => {
    await refused(iss.gh.mint(githubClaims(), { issuedAt: 3600, expiresIn: 7200 }), 'ERR_TOKEN_NOT_YET_VALID');
  });

  test('refusal - iat in the future within the clock tolerance still verifies', async () => {
    const p = await v.verify(await iss.gh.mint(githubClaims(), { issuedAt: 3 }));
    assert.equal(p.ci.repository, 'acme/app');
  });

  test('refusal - wrong issuer (iss differs from the configured issuer by a trailing slash)', async () => {
    await refused(iss.gh.mint(githubClaims(), { issuer: `${iss.gh.issuer}/` }), 'ERR_TOKEN_ISSUER_MISMATCH');
  });

  test('refusal - wrong audience', async () => {
    await refused(iss.gh.mint(githubClaims(), { audience: 'someone-else' }), 'ERR_TOKEN_AUDIENCE');
  });

  test('refusal - alg none', async () => {
    const fetched = iss.gh.jwksRequests;
    await refused(iss.gh.mint(githubClaims(), { alg: 'none' }), 'ERR_TOKEN_ALG');
    assert.equal(iss.gh.jwksRequests, fetched, 'an unsecured token is refused before any key is fetched');
  });

  test('refusal - HS256 signed with the issuer RSA public key as HMAC secret', async () => {
    await refused(iss.gh.mint(githubClaims(), { alg: 'HS256' }), 'ERR_TOKEN_ALG');
  });

  test('refusal - asymmetric alg not pinned for this issuer', async () => {
    // The GitLab issuer is pinned to ES256; an RS256 header is refused before verification.
    const token = await new SignJWT({ ...gitlabClaims(), iss: iss.gl.issuer, aud: 'https://agentgate.example' })
      .setProtectedHeader({ alg: 'RS256', kid: iss.gl.currentKid })
      .setExpirationTime('5m')
      .sign(attacker.privateKey);
    await refused(token, 'ERR_TOKEN_ALG');
  });

  test('refusal - unknown kid', async () => {
    await refused(iss.gh.mint(githubClaims(), { kid: 'no-such-kid', signWith: 'foreign' }), 'ERR_TOKEN_KID_UNKNOWN');
  });

  test('refusal - tampered payload', async () => {
    const token = await iss.gh.mint(githubClaims());
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.repository = 'acme/secrets';
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    await refused(forged, 'ERR_TOKEN_SIGNATURE');
  });

  test('refusal - signature by a different key under the issuer kid', async () => {
    await refused(iss.gh.mint(githubClaims(), { signWith: 'foreign' }), 'ERR_TOKEN_SIGNATURE');
  });

  test('refusal - token larger than 16 KB', async () => {
    const before = iss.gh.jwksRequests;
    await refused(iss.gh.mint(githubClaims({ padding: 'x'.repeat(16 * 1024) })), 'ERR_TOKEN_TOO_LARGE');
    assert.equal(iss.gh.jwksRequests, before, 'refused before any parsing or key fetch');
  });

  test('refusal - unexpected crit header', async () => {
    await refused(iss.gh.mint(githubClaims(), { header: { crit: ['exp-ext'], 'exp-ext': true } }), 'ERR_TOKEN_CRIT');
  });

  test('refusal - jku header pointing at an attacker JWKS is never fetched', async () => {
    const token = await iss.gh.mint(githubClaims(), {
      kid: attacker.kid,
      signWith: attacker.privateKey,
      header: { jku: attacker.jwksUrl },
    });
    await refused(token, 'ERR_TOKEN_KID_UNKNOWN');
    assert.equal(attacker.requests, 0, 'the attacker server was never contacted');
  });

  test('refusal - x5u header pointing at an attacker certificate is never fetched', async () => {
    const token = await iss.gh.mint(githubClaims(), { signWith: attacker.privateKey, header: { x5u: attacker.x5uUrl } });
    await refused(token, 'ERR_TOKEN_SIGNATURE');
    assert.equal(attacker.requests, 0, 'the attacker server was never contacted');
  });

  test('refusal - embedded jwk header with the attacker key is never used', async () => {
    const token = await iss.gh.mint(githubClaims(), { signWith: attacker.privateKey, header: { jwk: attacker.publicJwk } });
    await refused(token, 'ERR_TOKEN_SIGNATURE');
    assert.equal(attacker.requests, 0);
  });

  test('refusal - jku header on a genuinely signed token is ignored, not followed', async () => {
    const p = await v.verify(await iss.gh.mint(githubClaims(), { header: { jku: attacker.jwksUrl } }));
    assert.equal(p.ci.repository, 'acme/app');
    assert.equal(attacker.requests, 0);
  });

  test('refusal - missing required claim (configured)', async () => {
    const claims = githubClaims();
    delete claims['actor'];
    const msg = await refused(iss.gh.mint(claims), 'ERR_TOKEN_CLAIM_MISSING');
    assert.match(msg, /actor/);
  });

  test('refusal - missing required claim (profile)', async () => {
    const claims = gitlabClaims();
    delete claims['pipeline_id'];
    await refused(iss.gl.mint(claims), 'ERR_TOKEN_CLAIM_MISSING');
  });

  test('refusal - claim constraint not met', async () => {
    const msg = await refused(iss.gh.mint(githubClaims({ repository: 'evil/app' })), 'ERR_TOKEN_CLAIM_CONSTRAINT');
    assert.match(msg, /repository_owner/);
    await refused(iss.gl.mint(gitlabClaims({ namespace_path: 'other' })), 'ERR_TOKEN_CLAIM_CONSTRAINT');
  });

  test('refusal - unconfigured issuer', async () => {
    await refused(iss.gh.mint(githubClaims(), { issuer: 'https://token.actions.githubusercontent.com' }), 'ERR_TOKEN_ISSUER_UNKNOWN');
  });

  test('refusal - JWKS endpoint down fails closed', async () => {
    iss.gl.setDown(true);
    try {
      const msg = await refused(iss.gl.mint(gitlabClaims()), 'ERR_JWKS_UNAVAILABLE');
      assert.match(msg, /JWKS/);
    } finally {
      iss.gl.setDown(false);
    }
  });

  test('refusal - malformed tokens', async () => {
    await refused('not-a-jwt', 'ERR_TOKEN_MALFORMED');
    await refused('a.b.c.d.e', 'ERR_TOKEN_MALFORMED');
    await refused('eyJhbGciOiJSUzI1NiJ9.!!!.x', 'ERR_TOKEN_MALFORMED');
    const err = await rejection(v.verify(undefined));
    assert.equal(err.code, 'ERR_TOKEN_MALFORMED');
  });

  test('refusal - error messages never contain the token', async () => {
    const token = await iss.gh.mint(githubClaims(), { expiresIn: -60 });
    const err = await rejection(v.verify(token));
    assert.ok(!err.message.includes(token.split('.')[2] as string));
    assert.ok(!err.message.includes(token.split('.')[1] as string));
  });
});
