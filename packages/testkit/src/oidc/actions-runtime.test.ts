import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import { githubClaims } from './claims.js';
import { startCiIssuer } from './ci-issuer.js';

test('actions runtime - tokens for the asked audience with the request bearer, 401 without it, owner audience by default', async () => {
  const issuer = await startCiIssuer({ actionsRuntime: { claims: () => githubClaims({ repository: 'acme/app' }), expiresIn: 120 } });
  try {
    const rt = issuer.actions;
    assert.ok(rt);
    const env = rt.env();
    assert.equal(env.GITHUB_ACTIONS, 'true');
    const ok = await fetch(`${env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=agentgate`, {
      headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` },
    });
    assert.equal(ok.status, 200);
    const { value } = (await ok.json()) as { value: string };
    const claims = decodeJwt(value);
    assert.equal(claims.aud, 'agentgate');
    assert.equal(claims.iss, issuer.issuer);
    assert.equal(claims.repository, 'acme/app');
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 120);
    const bad = await fetch(`${env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=agentgate`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(bad.status, 401);
    const dflt = await fetch(env.ACTIONS_ID_TOKEN_REQUEST_URL as string, { headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` } });
    assert.equal(decodeJwt(((await dflt.json()) as { value: string }).value).aud, 'https://github.com/acme');
    assert.equal(rt.requests, 2);
    assert.deepEqual(rt.audiences, ['agentgate', 'https://github.com/acme']);
  } finally {
    await issuer.close();
  }
});
