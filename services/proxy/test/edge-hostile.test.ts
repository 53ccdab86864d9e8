import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type EdgeHarness, startEdgeHarness, watchEscapes } from './edge-harness.js';
import { assertNoSecret } from './harness.js';
import { exchange, parseResponses } from './http-wire.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const jws = (header: object | string, payload: object | string, sig = 'c2ln') =>
  `${b64(typeof header === 'string' ? header : JSON.stringify(header))}.${b64(typeof payload === 'string' ? payload : JSON.stringify(payload))}.${sig}`;

/** Tokens an outside tester would try: every claim the refusal quotes, hostile. */
const HOSTILE_TOKENS: Array<[string, string]> = [
  ['iss with €', 'eyJhbGciOiAiUlMyNTYifQ.eyJpc3MiOiAiaHR0cDovL3gv4oKsIiwgInN1YiI6ICJ4In0.c2ln'],
  ['alg DEL', jws({ alg: 'RS\u007f' }, { iss: 'http://x/', sub: 'x' })],
  ['alg é', jws({ alg: 'RS\u00e9' }, { iss: 'http://x/' })],
  ['alg none', jws({ alg: 'none' }, { iss: 'http://x/' }, '')],
  ['alg HS256', jws({ alg: 'HS256' }, { iss: 'http://x/' })],
  ['kid snowman', jws({ alg: 'RS256', kid: '\u2603\r\n' }, { iss: 'http://x/\u00ff' })],
  ['iss CR LF', jws({ alg: 'RS256' }, { iss: 'http://x/\r\nset-cookie: a=b', sub: 'x' })],
  ['iss NUL', jws({ alg: 'RS256' }, { iss: 'http://x/\u0000\u0001' })],
  ['iss astral', jws({ alg: 'RS256' }, { iss: 'http://x/\ud83d\ude00\udfff' })],
  ['iss 4 KB', jws({ alg: 'RS256' }, { iss: `http://x/${'\u20ac'.repeat(1300)}` })],
  ['jku and crit', jws({ alg: 'RS256', jku: 'http://evil/', crit: ['x'], x: 1 }, { iss: 'http://x/' })],
  ['payload not JSON', `${b64('{"alg":"RS256"}')}.${b64('\u0000\u00ff not json')}.c2ln`],
  ['header a JSON array', jws('[1,2]', '{}')],
  ['two dots only', '..'],
  ['near the header limit', `a.${'b'.repeat(7000)}.c`],
  ['over the header limit', `a.${'b'.repeat(20_000)}.c`],
];

/** Values that are bad bytes for a header (some node's parser refuses, some it passes on as Latin-1). */
const BAD_VALUES: Array<[string, Buffer]> = [
  ['obs-text', Buffer.from([0x80, 0xff, 0xe2, 0x82, 0xac, 0x41])],
  ['utf-8 €', Buffer.from('€ ☃ \ud83d\ude00', 'utf8')],
  ['DEL', Buffer.from('a\u007fb', 'latin1')],
  ['NUL', Buffer.from('a\u0000b', 'latin1')],
  ['control', Buffer.from('a\u0001\u001bb', 'latin1')],
  ['tabs and quotes', Buffer.from('\t"a\\"\t', 'latin1')],
];
const HEADER_NAMES = [
  'user-agent',
  'traceparent',
  'accept-encoding',
  'content-type',
  'git-protocol',
  'x-http-method-override',
  'via',
  'cookie',
  'x-api-key',
  'accept',
  'x-custom',
];

/** Routes whose every header is also tried one by one with each bad value (the others get all headers at once). */
const ONE_BY_ONE = new Set(['http', 'git advertise', 'llm exchange', 'approvals list']);

/** The routes: the data path of each adapter type in the harness, the approver API, health. */
const ROUTES: Array<[string, string, string]> = [
  ['http', 'GET', '/api/public/x'],
  ['http relaxed', 'POST', '/relaxed/x;v=1'],
  ['http without credential', 'GET', '/plain/x'],
  ['git advertise', 'GET', '/git/acme/app.git/info/refs?service=git-receive-pack'],
  ['git push', 'POST', '/git/acme/app.git/git-receive-pack'],
  ['llm exchange', 'POST', '/llm/chat/completions'],
  ['approvals list', 'GET', '/_agentgate/approvals'],
  ['approval', 'GET', '/_agentgate/approvals/01ABCDEF'],
  ['approve', 'POST', '/_agentgate/approvals/01ABCDEF/approve'],
  ['healthz', 'GET', '/_agentgate/healthz'],
  ['readyz', 'GET', '/_agentgate/readyz'],
];

const bytes = (...parts: Array<string | Buffer>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));

/**
 * Issue 11 item 1: a corpus of hostile tokens and requests, sent to every
 * route. After each, the answer must be one or more well-formed HTTP/1.1
 * responses, and the gateway must still answer its health check; no error
 * may escape a handler (an unhandled rejection or exception fails the test
 * even though the test runner keeps the process alive).
 */
describe('edge - hostile corpus: every route answers well-formed, the process keeps serving', () => {
  let h: EdgeHarness;
  const watch = watchEscapes();
  const { escaped } = watch;
  let cases = 0;
  before(async () => {
    h = await startEdgeHarness();
    watch.start();
  });
  after(async () => {
    watch.stop();
    console.log(`edge hostile corpus: ${cases} requests`);
    await h?.close();
  });

  /** Sends one hostile request; the answer must parse and the gateway must still be healthy. */
  async function send(what: string, request: Buffer, methods: string[] = ['GET']): Promise<number> {
    cases++;
    const x = await exchange(h.proxy.port, request, methods);
    assert.equal(x.timedOut, false, `${what}: answered in time`);
    const p = parseResponses(x.data, methods);
    assert.ok(p.ok, `${what}: ${p.ok ? '' : p.error}\n${x.data.toString('latin1').slice(0, 600)}`);
    const final = p.responses.find((r) => r.status >= 200);
    assert.ok(final, `${what}: a final response`);
    assert.notEqual(final.status, 500, `${what}: never an internal error\n${x.data.toString('latin1').slice(0, 600)}`);
    assertNoSecret(x.data, h.secret, what);
    assert.deepEqual(escaped, [], `${what}: an error escaped its handler`);
    const health = await exchange(h.proxy.port, bytes('GET /_agentgate/healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n'), ['GET']);
    assert.match(health.data.toString('latin1'), /^HTTP\/1\.1 200 /, `${what}: healthz answers after it`);
    return final.status;
  }

  const request = (method: string, target: string, headers: Array<string | Buffer>, body = '') =>
    bytes(`${method} ${target} HTTP/1.1\r\nHost: gw\r\n`, ...headers, `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);

  for (const [route, method, target] of ROUTES) {
    test(`hostile tokens - ${route}`, async () => {
      for (const [name, token] of HOSTILE_TOKENS) {
        await send(`${route} / Bearer ${name}`, request(method, target, [`Authorization: Bearer ${token}\r\n`], method === 'POST' ? '{}' : ''), [method]);
        await send(`${route} / Basic ${name}`, request(method, target, [`Authorization: Basic ${Buffer.from(`x:${token}`).toString('base64')}\r\n`]), [method]);
      }
      for (const [name, raw] of BAD_VALUES) {
        await send(`${route} / token with ${name} bytes`, request(method, target, [bytes('Authorization: Bearer a.', raw, '.c\r\n')]), [method]);
        await send(`${route} / Basic with ${name} bytes`, request(method, target, [bytes('Authorization: Basic ', raw, '\r\n')]), [method]);
      }
    });

    test(`bad bytes in every header - ${route}`, async () => {
      const { token } = h;
      for (const [variant, raw] of BAD_VALUES) {
        const all = HEADER_NAMES.map((n) => bytes(`${n}: `, raw, '\r\n'));
        await send(
          `${route} / ${variant} in all headers`,
          request(method, target, [`Authorization: Bearer ${token}\r\n`, ...all], method === 'POST' ? '{}' : ''),
          [method],
        );
        if (!ONE_BY_ONE.has(route)) continue;
        for (const name of HEADER_NAMES) {
          await send(`${route} / ${variant} in ${name}`, request(method, target, [`Authorization: Bearer ${token}\r\n`, bytes(`${name}: `, raw, '\r\n')]), [
            method,
          ]);
        }
      }
    });

    test(`malformed requests - ${route}`, async () => {
      const auth = `Authorization: Bearer ${h.token}\r\n`;
      const path = target;
      const cases: Array<[string, Buffer, string[]?]> = [
        ['method FOO', bytes(`FOO ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Connection: close\r\n\r\n`)],
        ['lower-case method', bytes(`get ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Connection: close\r\n\r\n`)],
        ['method with non-ASCII', bytes('G\u00c9T ', path, ` HTTP/1.1\r\nHost: gw\r\n${auth}Connection: close\r\n\r\n`)],
        ['method TRACE', bytes(`TRACE ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Connection: close\r\n\r\n`)],
        ['absolute-form target', bytes(`GET http://127.0.0.1${path} HTTP/1.1\r\nHost: gw\r\n${auth}Connection: close\r\n\r\n`)],
        ['absolute-form to the upstream', bytes(`GET ${h.upstream.url}/base/x HTTP/1.1\r\nHost: gw\r\n${auth}Connection: close\r\n\r\n`)],
        ['asterisk-form', bytes(`OPTIONS * HTTP/1.1\r\nHost: gw\r\n${auth}Connection: close\r\n\r\n`)],
        ['CONNECT', bytes(`CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n${auth}\r\n`)],
        [
          'upgrade websocket',
          bytes(
            `GET ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          ),
        ],
        [
          'upgrade h2c',
          bytes(
            `GET ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n`,
          ),
        ],
        ['HTTP/2 preface', bytes('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')],
        ['HTTP/1.0 without Host', bytes(`GET ${path} HTTP/1.0\r\n${auth}\r\n`)],
        ['HTTP/1.1 without Host', bytes(`GET ${path} HTTP/1.1\r\n${auth}Connection: close\r\n\r\n`)],
        ['two Hosts', bytes(`GET ${path} HTTP/1.1\r\nHost: gw\r\nHost: evil\r\n${auth}Connection: close\r\n\r\n`)],
        ['HTTP/9.9', bytes(`GET ${path} HTTP/9.9\r\nHost: gw\r\n${auth}Connection: close\r\n\r\n`)],
        ['bare LF', bytes(`GET ${path} HTTP/1.1\nHost: gw\n${auth.replace('\r\n', '\n')}Connection: close\n\n`)],
        ['obs-fold', bytes(`GET ${path} HTTP/1.1\r\nHost: gw\r\n${auth}X-A: a\r\n  folded\r\nConnection: close\r\n\r\n`)],
        ['header without colon', bytes(`GET ${path} HTTP/1.1\r\nHost: gw\r\n${auth}NoColon\r\nConnection: close\r\n\r\n`)],
        ['space before colon', bytes(`GET ${path} HTTP/1.1\r\nHost: gw\r\n${auth}X-A : b\r\nConnection: close\r\n\r\n`)],
        ['NUL in the target', bytes(`GET ${path}\u0000x HTTP/1.1\r\nHost: gw\r\n${auth}Connection: close\r\n\r\n`)],
        ['non-ASCII target', bytes('GET ', path, Buffer.from('/\u20ac\u00ff', 'utf8'), ` HTTP/1.1\r\nHost: gw\r\n${auth}Connection: close\r\n\r\n`)],
        [
          'CL and TE',
          bytes(`POST ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Content-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`),
        ],
        ['two Content-Lengths', bytes(`POST ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Content-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`)],
        ['TE gzip, chunked', bytes(`POST ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`)],
        ['bad chunk size', bytes(`POST ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`)],
        [
          'chunk extension garbage',
          bytes(`POST ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;\u0000=\u00ff\r\nabc\r\n0\r\n\r\n`),
        ],
        [
          'Content-Length beyond the limit',
          bytes(`POST ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Content-Length: 99999999999\r\nConnection: close\r\n\r\n`),
          ['POST'],
        ],
        [
          'Expect 100-continue',
          bytes(`POST ${path} HTTP/1.1\r\nHost: gw\r\n${auth}Expect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`),
          ['POST'],
        ],
        ['pipelined garbage', bytes(`GET ${path} HTTP/1.1\r\nHost: gw\r\n${auth}\r\n\u0000\u00ff GARBAGE \r\n\r\n`), ['GET', 'GET']],
        [
          'pipelined request then a hostile token',
          bytes(
            `GET ${path} HTTP/1.1\r\nHost: gw\r\n${auth}\r\nGET ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${HOSTILE_TOKENS[0]?.[1]}\r\nConnection: close\r\n\r\n`,
          ),
          ['GET', 'GET'],
        ],
        ['only garbage', bytes('\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003')],
      ];
      for (const [what, raw, methods] of cases) await send(`${route} / ${what}`, raw, methods ?? [method === 'POST' ? 'POST' : 'GET']);
    });
  }

  test('incomplete requests - a body that never completes or no request at all: a clean close or a well-formed answer', async () => {
    const auth = `Authorization: Bearer ${h.token}\r\n`;
    const incomplete: Array<[string, Buffer]> = [
      [
        'chunk size 2^64-1',
        bytes(`POST /api/x HTTP/1.1\r\nHost: gw\r\n${auth}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nffffffffffffffff\r\nabc\r\n0\r\n\r\n`),
      ],
      [
        'Content-Length longer than the body',
        bytes(`POST /git/acme/app.git/git-receive-pack HTTP/1.1\r\nHost: gw\r\n${auth}Content-Length: 100\r\nConnection: close\r\n\r\n0000`),
      ],
      ['empty lines only', bytes('\r\n\r\n\r\n')],
    ];
    // Each waits for the gateway's idle timeout (5 s here): run them side by side.
    const answers = await Promise.all(incomplete.map(([, raw]) => exchange(h.proxy.port, raw, ['POST'], { timeoutMs: 15_000 })));
    cases += incomplete.length;
    answers.forEach((x, i) => {
      const what = incomplete[i]?.[0];
      assert.equal(x.timedOut, false, `${what}: the gateway closed the connection`);
      const p = parseResponses(x.data, ['POST']);
      assert.ok(p.ok, `${what}: ${p.ok ? '' : p.error}`);
      for (const r of p.responses) assert.notEqual(r.status, 500, `${what}: never an internal error`);
    });
    assert.deepEqual(escaped, []);
  });

  test('after the corpus - an ordinary request still goes through, and nothing escaped a handler', async () => {
    const status = await send('an ordinary request', request('GET', '/api/public/still-alive', [`Authorization: Bearer ${h.token}\r\n`]));
    assert.equal(status, 200);
    assert.equal(h.upstream.hits.at(-1)?.url, '/base/public/still-alive');
  });
});
