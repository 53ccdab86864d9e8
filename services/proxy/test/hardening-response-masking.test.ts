import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '@agentgate/config';
import { ALNUM, B32, gen } from '@agentgate/masking/testing';
import { SMALL_BODY_BYTES } from '../src/pipeline/respond-upstream.js';
import { assertHidden, errorOf, eventOf, get, type MaskingHarness, startMasking } from './masking-harness.js';

/**
 * Issue 11, item 4: secrets in traffic reached the client, because only
 * the calling connection's own credential was masked in responses.
 */
describe('secrets in responses (maskResponses, real proxy)', () => {
  let h: MaskingHarness;
  const ghp = `ghp_${gen(ALNUM, 36)}`;
  const akia = `AKIA${gen(B32, 16)}`;
  const awsSecret = gen(`${ALNUM}/+`, 40);
  let body: string;
  let secrets: Record<string, string>;
  before(async () => {
    h = await startMasking();
    body = JSON.stringify({
      workflow_log: `export GITHUB_TOKEN=${ghp}\naws_access_key_id = ${akia}\naws_secret_access_key = ${awsSecret}\n`,
      deploy: { note: `registry password ${h.other}` },
    });
    secrets = { 'github token': ghp, 'aws key id': akia, 'aws secret key': awsSecret, 'other brokered secret': h.other };
  });
  after(async () => {
    await h?.close();
  });

  test('response masking - a GitHub token, an AWS key pair and another brokered secret are masked by default on http (small and streamed bodies alike)', async () => {
    h.upstream.serve(body, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    const small = await get(h, '/api/served');
    assert.equal(small.status, 200);
    assert.ok(!/\r\ntransfer-encoding:/i.test(small.head), 'the small-body path answered');
    assertHidden(small, secrets, 'small body');
    // The same body streamed (no length, 7-byte writes) is masked the same, byte for byte.
    h.upstream.serve(body, { 'content-type': 'application/json' }, 7);
    const streamed = await get(h, '/api/served');
    assert.match(streamed.head, /\r\ntransfer-encoding: chunked/i);
    assert.equal(streamed.body.toString(), small.body.toString());
    const masked = JSON.parse(small.body.toString()) as { workflow_log: string; deploy: { note: string } };
    assert.equal(masked.deploy.note, 'registry password [REDACTED:secret:other-token]');
    assert.match(masked.workflow_log, /GITHUB_TOKEN=\[REDACTED:github-token\]/);
    const ev = await eventOf(h, '/api/served', 'completed');
    assert.ok(ev?.agentgate.masking);
    // One finding per secret: the GitHub token on an assignment line is not also a generic one.
    assert.equal(ev.agentgate.masking.count, 4);
    assert.deepEqual(ev.agentgate.masking.findings.map((f) => f.ref ?? f.type).sort(), [
      'aws-access-key-id',
      'aws-secret-access-key',
      'github-token',
      'other-token',
    ]);
  });

  test('response masking - a body past the small-body limit, with secrets across write boundaries, is masked in the stream', async () => {
    const filler = `${'.'.repeat(1000)}\n`;
    let big = '';
    while (big.length < SMALL_BODY_BYTES * 2) big += `${filler}token=${ghp} and ${h.other} ${akia}\n`;
    h.upstream.serve(big, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(big)) }, 4093);
    const s = await get(h, '/api/served');
    assert.equal(s.status, 200);
    assert.ok(s.complete);
    assertHidden(s, { ghp, other: h.other, akia }, 'big streamed body');
  });

  test('response masking - maskResponses: brokered masks every brokered secret but no detector finds', async () => {
    h.upstream.serve(body, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    const s = await get(h, '/brok/served');
    const text = s.body.toString();
    assert.ok(text.includes('[REDACTED:secret:other-token]'));
    assertHidden(s, { other: h.other }, 'brokered');
    assert.ok(text.includes(ghp) && text.includes(akia), 'detector-only finds pass under brokered');
  });

  test('response masking - maskResponses: credential masks the connection credential only (as before)', async () => {
    const withCred = JSON.stringify({ echo: h.secret, other: h.other, ghp });
    h.upstream.serve(withCred, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(withCred)) });
    const s = await get(h, '/cred/served');
    const text = s.body.toString();
    assertHidden(s, { credential: h.secret }, 'credential mode');
    assert.ok(text.includes(h.other) && text.includes(ghp));
  });

  test('response masking - a connection without a credential masks detectors and brokered secrets too', async () => {
    h.upstream.serve(body, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    const s = await get(h, '/open/served');
    assert.equal(s.status, 200);
    assertHidden(s, secrets, 'no-credential connection');
  });

  test('response masking - untyped bodies (sniffed for archives first) arrive whole, even shorter than the sniff', async () => {
    for (const [body, headers] of [
      ['done', {}],
      ['done', { 'content-length': '4' }],
      ['', { 'content-length': '0' }],
      [`x ${ghp} y`, { 'content-type': 'application/octet-stream' }],
    ] as const) {
      h.upstream.serve(body, headers);
      const s = await get(h, '/api/served');
      assert.equal(s.status, 200);
      assert.equal(s.body.toString(), body.replace(ghp, '[REDACTED:github-token]'), JSON.stringify(headers));
    }
  });

  test('response masking - secrets in response headers are masked with the same masker', async () => {
    h.upstream.serve('ok', { 'content-type': 'text/plain', 'x-debug-token': ghp, link: `<https://x.test/?k=${h.other}>` });
    const s = await get(h, '/api/served');
    assertHidden(s, { ghp, other: h.other }, 'headers');
    assert.match(s.head, /\r\nx-debug-token: \[REDACTED:github-token\]/i);
  });

  test('response masking - an event stream is masked event by event and each event goes out whole', async () => {
    const events = [`data: {"delta":"here is ${ghp}"}\n\n`, 'data: {"delta":"and more"}\n\n', `data: {"delta":"${h.other}"}\n\n`, 'data: [DONE]\n\n'].join('');
    h.upstream.serve(events, { 'content-type': 'text/event-stream' }, 5);
    const s = await get(h, '/api/served');
    assert.equal(s.status, 200);
    assertHidden(s, { ghp, other: h.other }, 'sse');
    assert.equal(
      s.body.toString(),
      'data: {"delta":"here is [REDACTED:github-token]"}\n\ndata: {"delta":"and more"}\n\ndata: {"delta":"[REDACTED:secret:other-token]"}\n\ndata: [DONE]\n\n',
    );
  });

  test('response masking - git keeps credential-only masking (pack data is binary) and refuses anything else in config', () => {
    const text = (extra: string) => `
identity:
  issuers: [{ name: gh, issuer: https://token.actions.githubusercontent.com, audiences: [x], profile: github-actions }]
connections:
  - { name: g, type: git, upstream: https://x.test${extra} }
  - { name: a, type: http, upstream: https://x.test }
  - { name: l, type: llm, upstream: https://x.test, options: { provider: openai } }
  - { name: r, type: registry, upstream: https://x.test }
`;
    const c = loadConfig({ text: text(''), env: {} });
    assert.deepEqual(
      c.connections.map((x) => [x.name, x.maskResponses, x.uninspectable]),
      [
        ['g', 'credential', 'refuse'],
        ['a', 'all', 'refuse'],
        ['l', 'all', 'refuse'],
        ['r', 'credential', 'refuse'],
      ],
    );
    assert.throws(() => loadConfig({ text: text(', maskResponses: all'), env: {} }), /git connections mask the credential only/);
  });

  // Last: it stops the secret broker.
  test('response masking - without the masklist, a connection that needs it is refused before anything goes upstream (ERR_MASKLIST_UNAVAILABLE)', async () => {
    await h.backends.broker.stop();
    // A fresh proxy: no masklist cached yet.
    const p = await h.extraProxy();
    const before = h.upstream.seen.length;
    const s = await get(h, '/open/served', p);
    assert.equal(s.status, 503);
    assert.equal(errorOf(s).code, 'ERR_MASKLIST_UNAVAILABLE');
    assert.match(errorOf(s).message, /connection "open"/);
    assert.equal(h.upstream.seen.length, before, 'the upstream was not called');
    const ev = await eventOf(h, '/open/served', 'failed', (e) => (e.event.reason ?? '').includes('brokered secrets'));
    assert.ok(ev, 'recorded as failed');
  });
});
