import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { validateEvent } from '@agentgate/events';
import { assertNoSecret, errorOf, rawHttp } from './harness.js';
import { type EdgeHarness, startEdgeHarness } from './edge-harness.js';

/**
 * Issue 11 item 5: policy must see what the upstream gets. Each test sends
 * what an outside tester sent and checks that the upstream either gets
 * exactly what policy decided on, or nothing.
 */
describe('edge - policy sees what the upstream gets (in-process bus, real identity and broker)', () => {
  let h: EdgeHarness;
  before(async () => {
    h = await startEdgeHarness();
  });
  after(async () => {
    await h?.close();
  });

  const get = (target: string, headers = '') => `GET ${target} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${h.token}\r\n${headers}Connection: close\r\n\r\n`;
  /** Sends a request, checks status and code, and that the upstream saw nothing of it. */
  async function refused(head: string, status: number, code: string): Promise<void> {
    const seen = h.upstream.hits.length;
    const r = await rawHttp(h.proxy.port, head);
    assert.equal(r.status, status, `${JSON.stringify(head.split('\r\n')[0])}: ${r.text.slice(0, 300)}`);
    assert.equal(errorOf(r.text).code, code, head.split('\r\n')[0]);
    assert.equal(h.upstream.hits.length, seen, `${head.split('\r\n')[0]}: nothing reached the upstream`);
    assertNoSecret(r.raw, h.secret, head.split('\r\n')[0] ?? '');
  }
  /** Sends a request that must be forwarded; returns what the upstream saw. */
  async function forwarded(head: string): Promise<(typeof h.upstream.hits)[number]> {
    const seen = h.upstream.hits.length;
    const r = await rawHttp(h.proxy.port, head);
    assert.equal(r.status, 200, `${JSON.stringify(head.split('\r\n')[0])}: ${r.text.slice(0, 300)}`);
    const hit = h.upstream.hits[seen];
    assert.ok(hit, 'the upstream saw the request');
    return hit;
  }

  test('paths - dot-segments behind ; parameters, encodings and Unicode look-alikes are refused (the /public/..;/private bypass)', async () => {
    for (const target of [
      '/api/public/..;/private',
      '/api/public/..;jsessionid=1/private',
      '/api/public/%2e%2e;/private',
      '/api/public/%2e%2e%3b/private',
      '/api/public/%2E%2E%3Bx=1/private',
      '/api/public/.;/private',
      '/api/public/%EF%BC%8E%EF%BC%8E/private',
      '/api/public/%EF%BC%8E%EF%BC%8E;/private',
      '/api/public/%E2%80%A5/private',
      '/api/public/..%20/private',
      '/api/public/.../private',
      '/api/public/a%EF%BC%8Fb',
      '/relaxed/public/..;/private',
      '/relaxed/public/%2e%2e%3b/private',
    ]) {
      await refused(get(target), 400, 'ERR_PATH_TRAVERSAL');
    }
  });

  test('paths - a ; in a path segment is refused unless the connection allows matrix parameters', async () => {
    for (const target of ['/api/public;x=1/a', '/api/public/a%3bb', '/api/public/a%3Bb', '/api/public/a%EF%BC%9Bb']) {
      await refused(get(target), 400, 'ERR_PATH_PARAMETERS');
    }
    const hit = await forwarded(get('/relaxed/public;v=1/a'));
    assert.equal(hit.url, '/base/public;v=1/a');
  });

  test('headers - method-override and URL-rewrite headers never reach the upstream, not even on a relaxed connection', async () => {
    const overrides =
      'X-HTTP-Method-Override: DELETE\r\nX-HTTP-Method: DELETE\r\nX-Method-Override: DELETE\r\nX-Original-Method: DELETE\r\nX-Original-URL: /private/x\r\nX-Original-URI: /private/x\r\nX-Rewrite-URL: /private/x\r\n';
    for (const conn of ['api', 'relaxed']) {
      const hit = await forwarded(get(`/${conn}/public/x`, overrides));
      assert.equal(hit.method, 'GET');
      for (const name of [
        'x-http-method-override',
        'x-http-method',
        'x-method-override',
        'x-original-method',
        'x-original-url',
        'x-original-uri',
        'x-rewrite-url',
      ]) {
        assert.equal(hit.headers[name], undefined, `${conn}: ${name} was forwarded`);
      }
    }
  });

  test('headers - client identity and credential-like headers are stripped by default; a connection forwards the ones it lists', async () => {
    const sent =
      'True-Client-IP: 6.6.6.6\r\nX-Client-IP: 6.6.6.6\r\nX-Host: evil.example\r\nX-Original-Host: evil.example\r\nVia: 1.1 evil\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil.example\r\nX-Real-IP: 6.6.6.6\r\n' +
      'X-Api-Key: personal-key\r\nApi-Key: personal-key\r\nPrivate-Token: personal-pat\r\nX-Auth-Token: personal\r\nX-Goog-Api-Key: g\r\nX-Vault-Token: v\r\nX-Amz-Security-Token: a\r\nCookie: session=1\r\nX-Session-Id: s\r\n' +
      'Accept: application/json\r\nX-Request-Purpose: kept\r\n';
    const stripped = [
      'true-client-ip',
      'x-client-ip',
      'x-host',
      'x-original-host',
      'via',
      'forwarded',
      'x-forwarded-for',
      'x-forwarded-host',
      'x-real-ip',
      'x-api-key',
      'api-key',
      'private-token',
      'x-auth-token',
      'x-goog-api-key',
      'x-vault-token',
      'x-amz-security-token',
      'cookie',
      'x-session-id',
    ];
    const strict = await forwarded(get('/api/public/x', sent));
    for (const name of stripped) assert.equal(strict.headers[name], undefined, `api: ${name} was forwarded`);
    assert.equal(strict.headers.accept, 'application/json');
    assert.equal(strict.headers['x-request-purpose'], 'kept');
    assert.equal(strict.headers.authorization, `Bearer ${h.secret}`, 'the injected credential is the only one');

    const relaxed = await forwarded(get('/relaxed/public/x', sent));
    assert.equal(relaxed.headers['x-api-key'], 'personal-key');
    assert.equal(relaxed.headers.via, '1.1 evil');
    for (const name of stripped.filter((n) => n !== 'x-api-key' && n !== 'via'))
      assert.equal(relaxed.headers[name], undefined, `relaxed: ${name} was forwarded`);
  });

  test('headers - two Host headers are refused', async () => {
    await refused(
      `GET /api/public/x HTTP/1.1\r\nHost: gw\r\nHost: evil.example\r\nAuthorization: Bearer ${h.token}\r\nConnection: close\r\n\r\n`,
      400,
      'ERR_BAD_REQUEST',
    );
  });

  test('query - a repeated parameter is matched by queryAny whatever its position; _method in the query is visible to policy', async () => {
    for (const q of ['force=true', 'force=false&force=true', 'force=true&force=false', 'force=x&force=y&force=true']) {
      await refused(get(`/api/public/x?${q}`), 403, 'ERR_POLICY_DENIED');
    }
    await forwarded(get('/api/public/x?force=false&force=no'));
    await refused(get('/api/public/x?_method=DELETE'), 403, 'ERR_POLICY_DENIED');
  });

  test('audit - the requested event records the raw path (url.original) and the upstream URL as forwarded (url.full) beside the decoded path', async () => {
    const hit = await forwarded(get('/api/public/a%20b/%61dmin?z=1'));
    assert.equal(hit.url, '/base/public/a%20b/%61dmin?z=1');
    let ev: Awaited<ReturnType<typeof h.events>>[number] | undefined;
    for (let i = 0; i < 50 && !ev; i++) {
      ev = (await h.events()).find((e) => e.agentgate.action.phase === 'requested' && e.url?.path === '/api/public/a b/admin');
      if (!ev) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(ev, 'the requested event was stored');
    validateEvent(ev);
    assert.equal(ev.url?.original, '/api/public/a%20b/%61dmin');
    assert.equal(ev.url?.full, `${h.upstream.url}/base/public/a%20b/%61dmin`);
  });
});
