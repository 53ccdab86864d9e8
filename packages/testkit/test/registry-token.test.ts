import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { libtrustKeyId, startRegistry, startRegistryTokenIssuer } from '../src/index.js';

describe('registry token auth', () => {
  test('registry token issuer - Distribution 2.8 accepts its tokens for the granted scope only, and it refuses bad credentials', async () => {
    const issuer = await startRegistryTokenIssuer({ username: 'robot', password: 'p4ss' });
    const reg = await startRegistry({ tokenAuth: issuer });
    try {
      const ping = await fetch(`${reg.url}/v2/`);
      assert.equal(ping.status, 401);
      assert.match(String(ping.headers.get('www-authenticate')), new RegExp(`^Bearer realm="${issuer.realm}",service="${issuer.service}"`));
      const tokenFor = async (scope: string, password = 'p4ss') =>
        fetch(`${issuer.realm}?service=${issuer.service}&scope=${encodeURIComponent(scope)}`, {
          headers: { authorization: `Basic ${Buffer.from(`robot:${password}`).toString('base64')}` },
        });
      assert.equal((await tokenFor('repository:a/b:pull', 'wrong')).status, 401);
      const { token } = (await (await tokenFor('repository:a/b:pull,push')).json()) as { token: string };
      const start = await fetch(`${reg.url}/v2/a/b/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(start.status, 202, 'the registry verified the token and its push scope');
      const other = await fetch(`${reg.url}/v2/c/d/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(other.status, 401, 'no scope on another repository');
      assert.deepEqual(
        issuer.requests.map((r) => r.authorized),
        [false, true],
      );
    } finally {
      await reg.stop();
      await issuer.close();
    }
  });

  test('libtrustKeyId - twelve colon-separated groups of four base32 characters from the SPKI hash', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = libtrustKeyId(publicKey.export({ type: 'spki', format: 'der' }));
    assert.match(id, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
  });
});
