import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { type EdgeHarness, startEdgeHarness, watchEscapes } from './edge-harness.js';
import { assertNoSecret } from './harness.js';
import { exchange, parseResponses } from './http-wire.js';

/**
 * Cases per run: bounded so the test stays under a minute on a loaded
 * 2-core machine (about 60–120 ms a case there). AGENTGATE_FUZZ_RUNS and
 * AGENTGATE_FUZZ_SEED override the count and the seed (to replay a failure).
 */
const RUNS = Number(process.env.AGENTGATE_FUZZ_RUNS ?? 500);
const SEED = process.env.AGENTGATE_FUZZ_SEED !== undefined ? Number(process.env.AGENTGATE_FUZZ_SEED) : undefined;
/** A health check after every batch of this many cases. */
const BATCH = 25;

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
/** Arbitrary bytes without CR and LF (line structure is chosen by the generator, not by chance). */
const lineBytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => latin1(a.filter((b) => b !== 13 && b !== 10)));
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/** One generated request (and what may follow it on the same connection). */
interface FuzzRequest {
  method: string;
  target: string;
  version: string;
  auth: string | undefined;
  headers: Array<[string, string]>;
  body: { kind: 'none' } | { kind: 'length'; data: Uint8Array } | { kind: 'chunked'; chunks: Uint8Array[] } | { kind: 'bad-chunked'; garbage: string };
  close: boolean;
  next: 'none' | 'request' | 'garbage';
  garbage: string;
}

function encode(r: FuzzRequest, token: string): Buffer {
  const lines = [`${r.method} ${r.target} ${r.version}`, 'Host: gw'];
  if (r.auth !== undefined) lines.push(`Authorization: ${r.auth}`);
  for (const [n, v] of r.headers) lines.push(`${n}: ${v}`);
  let body = '';
  if (r.body.kind === 'length') {
    lines.push(`Content-Length: ${r.body.data.length}`);
    body = latin1(r.body.data);
  } else if (r.body.kind === 'chunked') {
    lines.push('Transfer-Encoding: chunked');
    body = `${r.body.chunks.map((c) => `${c.length.toString(16)}\r\n${latin1(c)}\r\n`).join('')}0\r\n\r\n`;
  } else if (r.body.kind === 'bad-chunked') {
    lines.push('Transfer-Encoding: chunked');
    // Starts with a non-hex character: a framing error at once, never a body the server waits for.
    body = `z${r.body.garbage}\r\n0\r\n\r\n`;
  }
  if (r.close) lines.push('Connection: close');
  let out = `${lines.join('\r\n')}\r\n\r\n${body}`;
  if (r.next === 'request') out += `GET /api/public/next HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
  if (r.next === 'garbage') out += `${r.garbage}\r\n\r\n`;
  return Buffer.from(out, 'latin1');
}

/**
 * Issue 11 item 1: fast-check over raw HTTP/1.1 requests written on a TCP
 * socket (methods, targets, headers, tokens with arbitrary bytes, bodies
 * with Content-Length or chunked, pipelined followers) against a running
 * gateway: in-process bus, real identity and secret broker, one connection
 * per adapter type, the approver API and health. Asserted for every case:
 * every byte received parses as well-formed HTTP/1.1 responses and none is
 * a 500; no error escapes a handler; after each batch the gateway answers
 * its health check; at the end, every request the upstream received has a
 * `requested` audit event (method and raw path as forwarded, `url.full`).
 */
describe('edge - fuzzing raw HTTP/1.1 against a running gateway', () => {
  let h: EdgeHarness;
  const watch = watchEscapes();
  const { escaped } = watch;
  before(async () => {
    h = await startEdgeHarness();
    watch.start();
  });
  after(async () => {
    watch.stop();
    await h?.close();
  });

  test(`fuzz - ${RUNS} random requests: well-formed answers, the process stays up, nothing reaches the upstream unrecorded`, async () => {
    const basic = Buffer.from(`x-access-token:${h.token}`).toString('base64');
    const method = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') },
      { weight: 1, arbitrary: fc.constantFrom('TRACE', 'CONNECT', 'PRI', 'get', 'FOO', 'M-SEARCH', 'PROPFIND', 'G ET', '') },
      { weight: 1, arbitrary: lineBytes(10) },
    );
    const prefix = fc.constantFrom(
      '/api',
      '/relaxed',
      '/plain',
      '/git',
      '/llm',
      '/nosuch',
      '/%61pi',
      '/_agentgate/approvals',
      '/_agentgate/approvals/01ABCDEF',
      '/_agentgate/approvals/01ABCDEF/approve',
      '/_agentgate/healthz',
      '/_agentgate/readyz',
      '/_agentgate/zz',
      '',
    );
    const segment = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          'x',
          'public',
          'private',
          'acme',
          'app.git',
          'info',
          'refs',
          'git-upload-pack',
          'git-receive-pack',
          'chat',
          'completions',
          'models',
          'v1',
        ),
      },
      {
        weight: 2,
        arbitrary: fc.constantFrom('..', '.', '..;', '%2e%2e', '%2e%2e%3b', '%EF%BC%8E%EF%BC%8E', ';v=1', 'a;b', 'a%2fb', '%00', '%zz', '%252e', '...', '%20'),
      },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))) },
      { weight: 1, arbitrary: lineBytes(6).map((s) => s.replace(/[ ?#/]/g, '')) },
    );
    const query = fc
      .array(
        fc.tuple(
          fc.constantFrom('force', '_method', 'service', 'x', 'q'),
          fc.constantFrom('true', 'false', 'git-upload-pack', 'git-receive-pack', 'DELETE', '', '%ff'),
        ),
        { maxLength: 3 },
      )
      .map((kv) => (kv.length === 0 ? '' : `?${kv.map(([k, v]) => `${k}=${v}`).join('&')}`));
    const target = fc.oneof(
      {
        weight: 12,
        arbitrary: fc.tuple(prefix, fc.array(segment, { maxLength: 4 }), query).map(([p, segs, q]) => `${p}${segs.map((s) => `/${s}`).join('')}${q}`),
      },
      { weight: 1, arbitrary: fc.constantFrom('*', 'http://127.0.0.1/api/x', `${h.upstream.url}/base/x`, '127.0.0.1:443', '//api/x', 'api/x', '/') },
      { weight: 1, arbitrary: lineBytes(20) },
    );
    const version = fc.oneof(
      { weight: 20, arbitrary: fc.constant('HTTP/1.1') },
      { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/1', 'http/1.1', 'HTTP/1.1 x') },
    );
    const hostileJwt = fc
      .tuple(
        fc.record({
          alg: fc.oneof(fc.constantFrom('RS256', 'none', 'HS256', 'ES256', 'RS\u007f'), fc.string({ unit: 'binary', maxLength: 6 })),
          kid: fc.string({ unit: 'binary', maxLength: 8 }),
        }),
        fc.record({
          iss: fc.oneof(fc.constant(h.issuer.issuer), fc.string({ unit: 'binary', maxLength: 30 })),
          sub: fc.string({ maxLength: 5 }),
          aud: fc.constant('agentgate'),
        }),
      )
      .map(([hd, pl]) => `${b64(JSON.stringify(hd))}.${b64(JSON.stringify(pl))}.c2ln`);
    const auth = fc.oneof(
      { weight: 5, arbitrary: fc.constant(`Bearer ${h.token}`) },
      { weight: 1, arbitrary: fc.constant(`Basic ${basic}`) },
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 3, arbitrary: hostileJwt.map((t) => `Bearer ${t}`) },
      { weight: 1, arbitrary: lineBytes(60).map((b) => `Bearer ${b}`) },
      { weight: 1, arbitrary: lineBytes(40).map((b) => b) },
      { weight: 1, arbitrary: fc.constantFrom(`Bearer a.${'b'.repeat(7000)}.c`, `Bearer a.${'b'.repeat(20_000)}.c`) },
    );
    const headerName = fc
      .oneof(
        {
          weight: 6,
          arbitrary: fc.constantFrom(
            'user-agent',
            'accept',
            'accept-encoding',
            'content-type',
            'traceparent',
            'git-protocol',
            'x-http-method-override',
            'x-original-url',
            'via',
            'true-client-ip',
            'x-forwarded-for',
            'cookie',
            'x-api-key',
            'host',
            'expect',
            'upgrade',
            'connection',
            'te',
            'trailer',
            'authorization',
            'x-custom',
          ),
        },
        { weight: 2, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/) },
        { weight: 1, arbitrary: lineBytes(8).map((n) => n.replace(/:/g, '')) },
      )
      // Framing is the body generator's business; a random one would leave the server waiting for bytes.
      .filter((n) => !['content-length', 'transfer-encoding'].includes(n.trim().toLowerCase()));
    const headerValue = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          '',
          '100-continue',
          'websocket',
          'upgrade',
          'close',
          'keep-alive',
          'gzip, br',
          '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          'version=2',
          '*/*',
          'DELETE',
          '/private/x',
          'application/json',
        ),
      },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map((s) => Buffer.from(s, 'utf8').toString('latin1')) },
      { weight: 2, arbitrary: lineBytes(40) },
    );
    const headers = fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }).map((hs) =>
      // The gateway's own mirror fetches identify as git/…: a client never does here, so the upstream can tell them apart.
      hs.map(([n, v]): [string, string] => [n, n.toLowerCase() === 'user-agent' && v.startsWith('git/') ? `x${v}` : v]),
    );
    const llmJson = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    const body = fc.oneof(
      { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
      {
        weight: 3,
        arbitrary: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constant(new Uint8Array(llmJson))).map((data) => ({ kind: 'length' as const, data })),
      },
      {
        weight: 2,
        arbitrary: fc.array(fc.uint8Array({ minLength: 1, maxLength: 100 }), { maxLength: 3 }).map((chunks) => ({ kind: 'chunked' as const, chunks })),
      },
      { weight: 1, arbitrary: lineBytes(20).map((garbage) => ({ kind: 'bad-chunked' as const, garbage })) },
    );
    const hostile: fc.Arbitrary<FuzzRequest> = fc.record({
      method,
      target,
      version,
      auth,
      headers,
      body,
      close: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      next: fc.oneof({ weight: 6, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constantFrom('request' as const, 'garbage' as const) }),
      garbage: lineBytes(30),
    });
    // Half the cases are plausible (a real method, a clean target, printable headers, mostly a valid token) so
    // that they get past the parser and authentication into classification, policy, forwarding and masking.
    const printable = fc.stringMatching(/^[\x20-\x7e]{0,40}$/).map((v) => v.trim());
    const plausible: fc.Arbitrary<FuzzRequest> = fc.record({
      method: fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'),
      target: fc
        .tuple(
          prefix,
          fc.array(
            fc.oneof(
              { weight: 1, arbitrary: segment.filter((x) => /^[\x21-\x7e]*$/.test(x)) },
              { weight: 3, arbitrary: fc.constantFrom('public', 'x', 'v1', 'models') },
            ),
            { minLength: 1, maxLength: 4 },
          ),
          query,
        )
        .map(([p, segs, q]) => `${p}${segs.map((x) => `/${x}`).join('')}${q}`),
      version: fc.constant('HTTP/1.1'),
      auth: fc.oneof(
        { weight: 6, arbitrary: fc.constant(`Bearer ${h.token}`) },
        { weight: 1, arbitrary: fc.constant(`Basic ${basic}`) },
        { weight: 1, arbitrary: hostileJwt.map((t) => `Bearer ${t}`) },
      ),
      headers: fc.array(
        fc.tuple(
          headerName.filter((x) => /^[a-z0-9-]+$/.test(x) && x !== 'host' && x !== 'authorization' && x !== 'expect' && x !== 'upgrade'),
          printable,
        ),
        { maxLength: 5 },
      ),
      body: body.filter((b) => b.kind !== 'bad-chunked'),
      close: fc.constant(true),
      next: fc.oneof({ weight: 8, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constant('request' as const) }),
      garbage: fc.constant(''),
    });
    const requestArb = fc.oneof(hostile, plausible);

    let n = 0;
    const statuses = new Map<number, number>();
    const t0 = Date.now();
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        n++;
        const methods = r.next === 'none' ? [r.method] : [r.method, 'GET'];
        const x = await exchange(h.proxy.port, encode(r, h.token), methods, { timeoutMs: 8000 });
        const shown = () => x.data.toString('latin1').slice(0, 500);
        assert.equal(x.timedOut, false, `no complete answer in time: ${shown()}`);
        const p = parseResponses(x.data, methods);
        assert.ok(p.ok, `${p.ok ? '' : p.error}: ${shown()}`);
        assert.ok(
          p.responses.some((res) => res.status >= 200),
          `a final response: ${shown()}`,
        );
        for (const res of p.responses) {
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          assert.notEqual(res.status, 500, `an internal error: ${shown()}`);
        }
        assertNoSecret(x.data, h.secret, 'fuzz answer');
        assert.deepEqual(escaped, [], 'an error escaped its handler');
        if (n % BATCH === 0) {
          const health = await exchange(h.proxy.port, Buffer.from('GET /_agentgate/healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n'), ['GET']);
          assert.match(health.data.toString('latin1'), /^HTTP\/1\.1 200 /, `healthz after ${n} cases`);
        }
      }),
      { numRuns: RUNS, endOnFailure: true, ...(SEED !== undefined && { seed: SEED }) },
    );
    const seconds = (Date.now() - t0) / 1000;

    // Nothing reached the upstream without its `requested` event: match every hit to an event by method and raw path.
    await new Promise((r) => setTimeout(r, 200));
    const requested = (await h.events()).filter((e) => e.agentgate.action.phase === 'requested');
    const pool = new Map<string, number>();
    for (const e of requested) {
      const full = e.url?.full ?? '';
      assert.ok(full.startsWith(h.upstream.url), `a requested event names the upstream it forwards to: ${full}`);
      const key = `${e.http?.request?.method} ${full.slice(h.upstream.url.length)}`;
      pool.set(key, (pool.get(key) ?? 0) + 1);
    }
    const clientHits = h.upstream.hits.filter((hit) => !String(hit.headers['user-agent'] ?? '').startsWith('git/'));
    const unrecorded: string[] = [];
    for (const hit of clientHits) {
      const key = `${hit.method} ${hit.url.split('?')[0]}`;
      const left = pool.get(key) ?? 0;
      if (left > 0) pool.set(key, left - 1);
      else unrecorded.push(key);
    }
    console.log(
      `edge fuzz: ${n} cases in ${seconds.toFixed(1)} s; ${clientHits.length} forwarded upstream, ${requested.length} requested events; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
    );
    assert.equal(n, RUNS);
    assert.deepEqual(unrecorded, [], 'upstream hits without a requested event');
    assert.ok(clientHits.length > 0, 'some generated requests were allowed and forwarded (the fuzz reaches the upstream)');
    const health = await exchange(h.proxy.port, Buffer.from('GET /_agentgate/readyz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n'), ['GET']);
    assert.match(health.data.toString('latin1'), /^HTTP\/1\.1 200 /, 'readyz after the run');
  });
});
