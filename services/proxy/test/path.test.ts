import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { validateEvent } from '@agentgate/events';
import { assertNoSecret, auditEvents, BASIC_USER, errorOf, type Harness, rawGet, rawHttp, startHarness } from './harness.js';

describe('proxy data path (real nats-server, identity, secret broker, upstream)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  test('path - allowed GET reaches the upstream with the broker credential, never the client token', async () => {
    const before = h.upstream.seen.length;
    const r = await rawGet(h, '/api/things?x=1&x=2', 'Cookie: session=abc\r\nX-Forwarded-For: 6.6.6.6\r\n');
    assert.equal(r.status, 200);
    const seen = h.upstream.seen[before];
    assert.ok(seen, 'upstream saw the request');
    assert.equal(seen.url, '/base/things?x=1&x=2');
    assert.equal(seen.headers.authorization, `Bearer ${h.secret}`);
    assert.ok(!JSON.stringify(seen.headers).includes(h.token), 'the client token is never forwarded');
    assert.equal(seen.headers.cookie, undefined);
    assert.equal(seen.headers['x-forwarded-for'], undefined);
    // Hop-by-hop headers of the upstream (and the one its Connection header lists) are not passed back.
    assert.ok(!/\r\nx-hop:/i.test(r.text));
    assert.ok(!/\r\nkeep-alive:/i.test(r.text));
    assertNoSecret(r.raw, h.secret, 'GET');
  });

  test('path - allowed POST streams its body both ways', async () => {
    const before = h.upstream.seen.length;
    const body = Buffer.alloc(300_000, 'p');
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: h.proxy.port,
          method: 'POST',
          path: '/api/upload',
          headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/octet-stream' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      // Chunked upload in several writes.
      for (let i = 0; i < 3; i++) req.write(body.subarray(i * 100_000, (i + 1) * 100_000));
      req.end();
    });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as { bodyBytes: number }).bodyBytes, 300_000);
    assert.equal(h.upstream.seen[before]?.bodyBytes, 300_000);
    assert.equal(h.upstream.seen[before]?.method, 'POST');
  });

  test('path - requested and completed events are in the audit stream with status, bytes and durations', async () => {
    const r = await rawGet(h, '/api/audited');
    assert.equal(r.status, 200);
    // The completed event is published after the response; give it a moment.
    let events = await auditEvents(h.bus);
    for (let i = 0; i < 50 && !events.some((e) => e.url?.path === '/api/audited' && e.agentgate.action.phase === 'completed'); i++) {
      await new Promise((res) => setTimeout(res, 20));
      events = await auditEvents(h.bus);
    }
    const mine = events.filter((e) => e.url?.path === '/api/audited');
    const requested = mine.find((e) => e.agentgate.action.phase === 'requested');
    const completed = mine.find((e) => e.agentgate.action.phase === 'completed');
    assert.ok(requested && completed, 'both phases recorded');
    validateEvent(requested);
    validateEvent(completed);
    assert.equal(requested.agentgate.action.id, completed.agentgate.action.id);
    assert.equal(requested.event.action, 'http.get');
    assert.equal(requested.agentgate.decision?.effect, 'allow');
    assert.equal(requested.rule?.name, 'http-allowed');
    assert.equal(requested.user?.id, 'repo:acme/app:ref:refs/heads/main');
    assert.equal(completed.http?.response?.status_code, 200);
    assert.ok((completed.http?.response?.bytes ?? 0) > 0);
    assert.equal(completed.http?.request?.bytes, 0);
    assert.ok((completed.event.duration ?? 0) > 0);
    for (const e of mine) assertNoSecret(JSON.stringify(e), h.secret, 'audit event');
  });

  test('policy - a deny rule gives 403 with the reason, the upstream sees nothing, the denial is recorded', async () => {
    const before = h.upstream.seen.length;
    const r = await rawHttp(h.proxy.port, `DELETE /api/repos/1 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${h.token}\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 403);
    const err = errorOf(r.text);
    assert.equal(err.code, 'ERR_POLICY_DENIED');
    assert.match(err.message, /deleting through the gateway is not allowed/);
    assert.match(err.message, /no-delete/);
    assert.equal(h.upstream.seen.length, before);
    const denial = (await auditEvents(h.bus)).find((e) => e.url?.path === '/api/repos/1');
    assert.ok(denial);
    assert.equal(denial.agentgate.action.phase, 'denied');
    assert.equal(denial.event.action, 'http.delete');
    assert.equal(denial.rule?.name, 'no-delete');
    assert.equal(denial.event.outcome, 'failure');
  });

  test('policy - review refuses with "approval required"; claims-based deny works for another repository owner', async () => {
    const before = h.upstream.seen.length;
    const r = await rawGet(h, '/api/admin/settings');
    assert.equal(r.status, 403);
    assert.equal(errorOf(r.text).code, 'ERR_APPROVAL_REQUIRED');
    assert.match(errorOf(r.text).message, /approval required/);
    const other = await h.issuer.mint({ ...(await import('@agentgate/testkit')).githubClaims({ repository: 'evil/app' }) });
    const r2 = await rawGet(h, '/api/things', '', `Bearer ${other}`);
    assert.equal(r2.status, 403);
    assert.match(errorOf(r2.text).message, /only acme pipelines/);
    assert.equal(h.upstream.seen.length, before);
  });

  test('masking - the credential echoed in body, header, Set-Cookie and redirect Location never reaches the client', async () => {
    for (const path of ['/api/echo', '/api/echo-header', '/api/redirect', '/api/status?code=500']) {
      const r = await rawGet(h, path);
      assert.ok(r.status > 0, path);
      assertNoSecret(r.raw, h.secret, path);
      assert.match(r.text, /REDACTED/, `${path} shows where the credential was masked`);
    }
    const redirect = await rawGet(h, '/api/redirect');
    assert.equal(redirect.status, 302);
    assert.match(redirect.text, /\r\nlocation: https:\/\/example\.test\/cb\?token=/i);
  });

  test('masking - basic-injected credential (base64 of user:value) is masked in every form', async () => {
    const before = h.upstream.seen.length;
    const r = await rawGet(h, '/basicapi/echo');
    assert.equal(r.status, 200);
    assert.equal(h.upstream.seen[before]?.headers.authorization, `Basic ${Buffer.from(`${BASIC_USER}:${h.secret}`).toString('base64')}`);
    assertNoSecret(r.raw, h.secret, 'basic echo');
    const hdr = await rawGet(h, '/basicapi/echo-header');
    assertNoSecret(hdr.raw, h.secret, 'basic echo-header');
  });

  test('masking - a chunked response splitting the credential across chunks is masked', async () => {
    const r = await rawGet(h, '/api/chunked');
    assert.equal(r.status, 200);
    assert.match(r.text, /transfer-encoding: chunked/i);
    assertNoSecret(r.raw, h.secret, 'chunked');
    // Dechunk and check the text survived around the masks.
    assert.match(r.text.replace(/\r\n[0-9a-f]+\r\n/g, ''), /start/);
  });

  test('masking - a gzip response is decoded, masked and sent uncompressed', async () => {
    const r = await rawGet(h, '/api/gzip', 'Accept-Encoding: gzip, zstd\r\n');
    assert.equal(r.status, 200);
    assert.ok(!/\r\ncontent-encoding:/i.test(r.text), 'content-encoding removed');
    assert.ok(!/\r\ncontent-length:/i.test(r.text), 'content-length dropped (length changed)');
    assert.match(r.text, /"auth":"Bearer \[REDACTED/);
    assertNoSecret(r.raw, h.secret, 'gzip');
    const seen = h.upstream.seen.at(-1);
    assert.equal(seen?.headers['accept-encoding'], 'gzip', 'only codings the gateway can decode are offered upstream');
  });

  test('masking - an encoding the gateway cannot decode is refused with 502', async () => {
    const r = await rawGet(h, '/api/zstd');
    assert.equal(r.status, 502);
    assert.equal(errorOf(r.text).code, 'ERR_UPSTREAM_ENCODING');
  });

  test('logs - no log line holds the credential or the client token', () => {
    const all = h.logs.join('\n');
    assert.ok(h.logs.length > 5);
    assertNoSecret(all, h.secret, 'log');
    assert.ok(!all.includes(h.token.split('.')[2] as string), 'token signature not logged');
  });
});
