import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort } from '@agentgate/testkit';
import { errorOf, rawHttp } from './harness.js';
import { getHead, type HardeningHarness, startHardening } from './hardening-harness.js';
import { type ProxyProcess, startProxyProcess } from './proxy-process.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
/** An unsigned compact JWS with these header and payload texts (the identity service refuses it, quoting parts of it). */
const jws = (header: string, payload: string) => `${b64(header)}.${b64(payload)}.c2ln`;

/** The token of the report, byte for byte: `iss` is `http://x/€`. */
const EURO_ISS = 'eyJhbGciOiAiUlMyNTYifQ.eyJpc3MiOiAiaHR0cDovL3gv4oKsIiwgInN1YiI6ICJ4In0.c2ln';

/** Header bytes a well-formed HTTP/1.1 response head may carry: visible ASCII, space and tab. */
function assertSafeHead(text: string, what: string): void {
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  assert.ok(head.length > 0, `${what}: a complete response head`);
  for (const line of head.split('\r\n')) {
    assert.match(line, /^[\x20-\x7e\t]*$/, `${what}: header line holds only visible ASCII: ${JSON.stringify(line)}`);
  }
}

/**
 * Issue 11 item 1: one unauthenticated request ended the proxy process
 * (ERR_INVALID_CHAR from writeHead with a WWW-Authenticate built from the
 * token's `iss`, thrown inside the approvals handler whose promise was
 * voided). The proxy runs here as its own process (src/main.ts) on a real
 * nats-server, so "the process ended" is observed, not inferred.
 */
describe('edge - a hostile token never ends the proxy process (real process, nats-server, identity)', () => {
  let h: HardeningHarness;
  let p: ProxyProcess;
  before(async () => {
    h = await startHardening();
    p = await startProxyProcess(h.configText({}), h.nats.url, await freePort());
  });
  after(async () => {
    await p?.stop();
    await h?.close();
  });

  async function stillServing(what: string): Promise<void> {
    assert.ok(p.alive(), `${what}: the proxy process is still running\n${p.output().slice(-3000)}`);
    // main.ts logs a rejection no handler caught: the process survived it, but only by the safety net.
    assert.doesNotMatch(p.output(), /unhandled/i, `${what}: no error escaped its handler`);
    const r = await rawHttp(p.port, 'GET /_agentgate/healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 200, `${what}: healthz answers after it`);
  }

  const hostile: Array<[string, string]> = [
    ['iss with a non-ASCII character (the report)', EURO_ISS],
    ['alg with DEL', jws('{"alg":"RS\u007f"}', '{"iss":"http://x/","sub":"x"}')],
    ['alg with a non-ASCII character', jws('{"alg":"RS\u00e9"}', '{"iss":"http://x/","sub":"x"}')],
    ['iss with CR LF (header injection)', jws('{"alg":"RS256"}', '{"iss":"http://x/\\r\\nset-cookie: a=b","sub":"x"}')],
    ['iss with NUL', jws('{"alg":"RS256"}', '{"iss":"http://x/\\u0000","sub":"x"}')],
    ['kid with non-ASCII', jws('{"alg":"RS256","kid":"\u2603"}', '{"iss":"http://x/\u00ff","sub":"x"}')],
  ];

  for (const [name, token] of hostile) {
    test(`approvals API - ${name}: 401 with a header-safe challenge, the process keeps serving`, async () => {
      const r = await rawHttp(p.port, getHead(token, '/_agentgate/approvals'));
      await stillServing(name);
      assert.equal(r.status, 401, r.text.slice(0, 400));
      assert.equal(errorOf(r.text).code, 'ERR_AUTH_INVALID');
      assertSafeHead(r.text, name);
      assert.match(r.text, /\r\nwww-authenticate: Bearer realm="agentgate", error="invalid_token"/i);
    });

    test(`data path - ${name}: 401 ERR_AUTH_INVALID (not 500), a header-safe head, nothing forwarded`, async () => {
      const seen = h.upstream.seen.length;
      const r = await rawHttp(p.port, getHead(token, '/api/x'));
      await stillServing(name);
      assert.equal(r.status, 401, r.text.slice(0, 400));
      assert.match(r.text, /^HTTP\/1\.1 401 Unauthorized\r\n/);
      assert.equal(errorOf(r.text).code, 'ERR_AUTH_INVALID');
      assertSafeHead(r.text, name);
      assert.equal(h.upstream.seen.length, seen);
    });
  }

  test('approvals API - every approvals route with the hostile token keeps the process up', async () => {
    for (const [method, path] of [
      ['GET', '/_agentgate/approvals'],
      ['GET', '/_agentgate/approvals/abc'],
      ['POST', '/_agentgate/approvals/abc/approve'],
      ['POST', '/_agentgate/approvals/abc/reject'],
      ['GET', '/_agentgate/approvals/%E2%82%AC/approve'],
    ] as const) {
      const r = await rawHttp(
        p.port,
        `${method} ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${EURO_ISS}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(r.status, 401, `${method} ${path}`);
      assertSafeHead(r.text, path);
    }
    await stillServing('approvals routes');
  });
});
