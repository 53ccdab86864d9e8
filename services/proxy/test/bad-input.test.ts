import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { githubClaims } from '@agentgate/testkit';
import { assertNoSecret, errorOf, type Harness, rawGet, rawHttp, startHarness } from './harness.js';

describe('bad input gets a clear 4xx, nothing is forwarded, the proxy keeps serving', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  /** Sends raw bytes and checks status, code and that the upstream saw nothing. */
  async function refused(head: string, status: number, code: string | null, body?: string): Promise<string> {
    const before = h.upstream.seen.length;
    const r = await rawHttp(h.proxy.port, head, body);
    assert.equal(r.status, status, `${JSON.stringify(head.split('\r\n')[0])}: ${r.text.slice(0, 300)}`);
    if (code) assert.equal(errorOf(r.text).code, code);
    assert.equal(h.upstream.seen.length, before, 'nothing reached the upstream');
    assertNoSecret(r.raw, h.secret, head.split('\r\n')[0] ?? '');
    return r.text;
  }
  const get = (target: string, headers = '') => `GET ${target} HTTP/1.1\r\nHost: gw\r\n${headers}Connection: close\r\n\r\n`;

  test('auth - no token: 401 with a Bearer challenge', async () => {
    const text = await refused(get('/api/x'), 401, 'ERR_AUTH_MISSING');
    assert.match(text, /\r\nwww-authenticate: Bearer realm="agentgate"/i);
  });

  test('auth - malformed Authorization headers: 401 ERR_AUTH_MALFORMED', async () => {
    for (const auth of [
      'Bearer',
      'Bearer ',
      'Negotiate abc',
      'Token',
      'Bearer a b',
      'Basic !!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      'Bearer "x"',
    ]) {
      await refused(get('/api/x', `Authorization: ${auth}\r\n`), 401, 'ERR_AUTH_MALFORMED');
    }
    // Two credentials are ambiguous.
    await refused(get('/api/x', `Authorization: Bearer ${h.token}\r\nAuthorization: Bearer other\r\n`), 401, 'ERR_AUTH_MALFORMED');
    // GitHub's own `token` scheme (what gh sends) is a bearer by another name: parsed, then verified like one.
    await refused(get('/api/x', 'Authorization: Token abc\r\n'), 401, 'ERR_AUTH_INVALID');
  });

  test('auth - expired and foreign-signed tokens: 401 naming the reason, with a challenge in the client scheme', async () => {
    const expired = await h.issuer.mint(githubClaims(), { expiresIn: -120 });
    const text = await refused(get('/api/x', `Authorization: Bearer ${expired}\r\n`), 401, 'ERR_AUTH_INVALID');
    assert.match(errorOf(text).message, /ERR_TOKEN_EXPIRED/);
    assert.match(text, /\r\nwww-authenticate: Bearer realm="agentgate", error="invalid_token"/i);
    const forged = await h.issuer.mint(githubClaims(), { signWith: 'foreign' });
    const basic = Buffer.from(`x:${forged}`).toString('base64');
    const t2 = await refused(get('/api/x', `Authorization: Basic ${basic}\r\n`), 401, 'ERR_AUTH_INVALID');
    assert.match(t2, /\r\nwww-authenticate: Basic realm="agentgate"/i);
  });

  test('auth - Basic with the token as password (what git and docker send) is accepted', async () => {
    const r = await rawGet(h, '/api/ok', '', `Basic ${Buffer.from(`anything:${h.token}`).toString('base64')}`);
    assert.equal(r.status, 200);
  });

  // Every connection type has an adapter now (kubernetes was the last): ERR_ADAPTER_MISSING is only a fail-closed guard in run.ts.
  test('target - unknown connection: 404', async () => {
    await refused(get('/nope/x', `Authorization: Bearer ${h.token}\r\n`), 404, 'ERR_CONNECTION_UNKNOWN');
  });

  test('target - path traversal and encoded separators: 400 ERR_PATH_TRAVERSAL', async () => {
    const auth = `Authorization: Bearer ${h.token}\r\n`;
    for (const target of [
      '/api/../other/x',
      '/api/./x',
      '/api/%2e%2e/x',
      '/api/%2E%2e/x',
      '/api/a%2fb',
      '/api/a%5cb',
      '/api/a\\b',
      '/api/%252e%252e/x',
      '/api/x/..',
      '/%2e%2e/api/x',
    ]) {
      await refused(get(target, auth), 400, 'ERR_PATH_TRAVERSAL');
    }
    await refused(get('/api/%zz', auth), 400, 'ERR_BAD_TARGET');
  });

  test('target - absolute-form, asterisk-form and scheme-relative targets: 400 ERR_BAD_TARGET', async () => {
    const auth = `Authorization: Bearer ${h.token}\r\n`;
    await refused(get('http://127.0.0.1/api/x', auth), 400, 'ERR_BAD_TARGET');
    await refused(get(`http://127.0.0.1:${h.upstream.port}/base/x`, auth), 400, 'ERR_BAD_TARGET');
    await refused(`OPTIONS * HTTP/1.1\r\nHost: gw\r\n${auth}Connection: close\r\n\r\n`, 400, 'ERR_BAD_TARGET');
    await refused(get('//api/x', auth), 400, 'ERR_BAD_TARGET');
  });

  test('framing - oversized headers: 431', async () => {
    await refused(get('/api/x', `Authorization: Bearer ${h.token}\r\nX-Big: ${'a'.repeat(10_000)}\r\n`), 431, 'ERR_HEADERS_TOO_LARGE');
  });

  test('framing - Content-Length with Transfer-Encoding, and bad Content-Length: 400 before anything is forwarded', async () => {
    const auth = `Authorization: Bearer ${h.token}\r\n`;
    // node's parser refuses this one itself (clientError): the same JSON error comes back.
    await refused(
      `POST /api/x HTTP/1.1\r\nHost: gw\r\n${auth}Content-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      400,
      'ERR_BAD_REQUEST',
      '0\r\n\r\n',
    );
    await refused(
      `POST /api/x HTTP/1.1\r\nHost: gw\r\n${auth}Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n`,
      400,
      'ERR_BAD_REQUEST',
      '0\r\n\r\n',
    );
    await refused(
      `POST /api/x HTTP/1.1\r\nHost: gw\r\n${auth}Content-Length: 5\r\nContent-Length: 6\r\nConnection: close\r\n\r\n`,
      400,
      'ERR_BAD_REQUEST',
      'hello!',
    );
    await refused(`POST /api/x HTTP/1.1\r\nHost: gw\r\n${auth}Content-Length: -1\r\nConnection: close\r\n\r\n`, 400, 'ERR_BAD_REQUEST');
  });

  test('limits - declared and streamed bodies over the limit: 413', async () => {
    const auth = `Authorization: Bearer ${h.token}\r\n`;
    await refused(`POST /small/x HTTP/1.1\r\nHost: gw\r\n${auth}Content-Length: 5000\r\nConnection: close\r\n\r\n`, 413, 'ERR_BODY_TOO_LARGE');
    // Chunked: the limit trips while streaming; the upstream request is aborted before it completes.
    const before = h.upstream.seen.length;
    const chunk = 'a'.repeat(600);
    const r = await rawHttp(
      h.proxy.port,
      `POST /small/x HTTP/1.1\r\nHost: gw\r\n${auth}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      `258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assert.equal(r.status, 413);
    assert.equal(errorOf(r.text).code, 'ERR_BODY_TOO_LARGE');
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(h.upstream.seen.length, before, 'the upstream never saw a complete request');
  });

  test('upstream - unreachable: 502 naming the connection, no credential; slow: 504', async () => {
    const text = await refused(get('/dead/x', `Authorization: Bearer ${h.token}\r\n`), 502, 'ERR_UPSTREAM_UNREACHABLE');
    assert.match(errorOf(text).message, /"dead"/);
    assert.equal(errorOf(text.replace(/^[\s\S]*?\r\n\r\n/, 'x\r\n\r\n')).code, 'ERR_UPSTREAM_UNREACHABLE');
    const r = await rawGet(h, '/small/slow?ms=1500');
    assert.equal(r.status, 504);
    assert.equal(errorOf(r.text).code, 'ERR_UPSTREAM_TIMEOUT');
  });

  test('credential - an unavailable credential refuses the request with 503 naming the connection only', async () => {
    const text = await refused(get('/nocred/x', `Authorization: Bearer ${h.token}\r\n`), 503, 'ERR_CREDENTIAL_UNAVAILABLE');
    assert.match(errorOf(text).message, /"nocred"/);
  });

  test('protocol - Upgrade and CONNECT are refused with 501', async () => {
    await refused(
      get('/api/ws', `Authorization: Bearer ${h.token}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`).replace('Connection: close\r\n', ''),
      501,
      'ERR_UPGRADE_UNSUPPORTED',
    );
    await refused(`CONNECT 127.0.0.1:${h.upstream.port} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 501, 'ERR_UPGRADE_UNSUPPORTED');
  });

  test('health - /_agentgate/healthz and readyz answer without a token', async () => {
    const live = await rawHttp(h.proxy.port, get('/_agentgate/healthz'));
    assert.equal(live.status, 200);
    const ready = await rawHttp(h.proxy.port, get('/_agentgate/readyz'));
    assert.equal(ready.status, 200);
    assert.match(ready.text, /"ready"/);
  });

  test('after all of the above - the proxy still serves', async () => {
    const r = await rawGet(h, '/api/still-alive');
    assert.equal(r.status, 200);
    assert.equal(h.upstream.seen.at(-1)?.url, '/base/still-alive');
  });
});
