import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createMasker } from '@agentgate/masking';
import { bindingDigest, bodyPreview, buildBinding, PREVIEW_CHARS } from './binding.js';

const masker = createMasker();
const ghToken = (): string =>
  `ghp_${randomBytes(40)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 36)}`;

const base = {
  kind: 'http.post',
  connection: 'api',
  attributes: { method: 'POST', path: '/repos/acme/app/issues' },
  body: { sha256: 'a'.repeat(64), bytes: 12 },
};

test('binding - only allowlisted headers are shown and bound; credentials and cookies never are', () => {
  const secret = ghToken();
  const b = buildBinding(
    {
      ...base,
      request: {
        method: 'POST',
        path: '/repos/acme/app/issues',
        rawQuery: '?x=1',
        headers: {
          authorization: 'Bearer abc',
          cookie: 's=1',
          'proxy-authorization': 'Basic x',
          'x-api-key': 'k',
          'private-token': 'p',
          'content-type': 'application/json',
          'x-http-method-override': 'DELETE',
          'user-agent': `agent ${secret}`,
        },
      },
    },
    masker,
  );
  assert.deepEqual(Object.keys(b.request?.headers ?? {}).sort(), ['content-type', 'user-agent', 'x-http-method-override']);
  assert.equal(b.request?.headers['x-http-method-override'], 'DELETE');
  assert.ok(!JSON.stringify(b).includes(secret), 'a secret in an allowed header is masked');
  assert.equal(b.request?.query, '?x=1');
});

test('binding - the digest is over the canonical binding: stable, and any change of body, kind or parts changes it', () => {
  const a = buildBinding(base, masker);
  assert.match(a.digest, /^[0-9a-f]{64}$/);
  assert.equal(buildBinding({ ...base, attributes: { path: '/repos/acme/app/issues', method: 'POST' } }, masker).digest, a.digest, 'key order does not matter');
  assert.equal(bindingDigest(a), a.digest, 'recomputable from the record');
  assert.notEqual(buildBinding({ ...base, body: { sha256: 'b'.repeat(64), bytes: 12 } }, masker).digest, a.digest);
  assert.notEqual(buildBinding({ ...base, kind: 'http.put' }, masker).digest, a.digest);
  const push = (neu: string) =>
    buildBinding(
      {
        ...base,
        kind: 'git.force_push',
        body: null,
        parts: [{ kind: 'git.force_push', attributes: { ref: 'refs/heads/main', old: '1'.repeat(40), new: neu } }],
      },
      masker,
    );
  assert.notEqual(push('2'.repeat(40)).digest, push('3'.repeat(40)).digest, 'a push with other SHAs is another action');
  assert.throws(() => buildBinding({ ...base, attributes: { bad: '\ud800' } }, masker), { code: 'ERR_BAD_REQUEST' });
});

test('binding - the preview masks detector matches and sensitive JSON members, then truncates', () => {
  const secret = ghToken();
  const body = Buffer.from(JSON.stringify({ password: 'hunter2-hunter2', api_token: 42, title: `see ${secret}`, pad: 'y'.repeat(10_000) }));
  const p = bodyPreview(body, body.length, masker);
  assert.equal(p?.encoding, 'text');
  assert.ok(!p?.text.includes('hunter2'));
  assert.ok(!p?.text.includes(secret));
  assert.ok(p?.text.includes('"password":"[REDACTED:sensitive-key]"'));
  assert.ok(p?.text.includes('"api_token":"[REDACTED:sensitive-key]"'), 'scalar values of sensitive keys too');
  assert.ok(p?.text.includes('"title":"see [REDACTED'));
  assert.equal(p?.text.length, PREVIEW_CHARS);
  assert.equal(p?.truncated, true);
  assert.equal(p?.masked, 3);
});

test('binding - a secret across the display cut is masked whole; binary and empty bodies are not shown', () => {
  const secret = ghToken();
  const text = `${'z '.repeat((PREVIEW_CHARS - 10) / 2)}${secret} tail`;
  const p = bodyPreview(Buffer.from(text), text.length, masker);
  assert.ok(!p?.text.includes(secret.slice(0, 14)), 'no prefix of the secret is shown');
  assert.deepEqual(bodyPreview(Buffer.from([0x00, 0x01, 0xff, 0x10]), 4, masker), { encoding: 'binary', text: '', truncated: false, masked: 0 });
  assert.equal(bodyPreview(Buffer.alloc(0), 0, masker), null);
  // A head that ends inside a multi-byte character is still text.
  const euro = Buffer.from('price: €€€');
  const cut = bodyPreview(euro.subarray(0, euro.length - 1), euro.length, masker);
  assert.equal(cut?.encoding, 'text');
  assert.equal(cut?.truncated, true);
  assert.equal(cut?.text, 'price: €€');
});
