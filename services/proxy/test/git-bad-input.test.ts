import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rawHttp } from './harness.js';
import { dechunk } from './hardening-harness.js';
import { clientHome, GIT_USER, type GitHarness, git, startGitHarness, upstreamRefs } from './git-harness.js';

function pktLine(s: string): string {
  return (s.length + 4).toString(16).padStart(4, '0') + s;
}

describe('git adapter: bad input gets a clear git error and the gateway stays up', () => {
  let h: GitHarness;
  let auth: string;
  before(async () => {
    h = await startGitHarness();
    auth = `Basic ${Buffer.from(`${GIT_USER}:${h.token}`).toString('base64')}`;
    await h.git.createRepo('bad', { withCommits: 2 });
  });
  after(async () => {
    await h?.close();
  });

  async function post(body: Buffer | string, extra = ''): ReturnType<typeof rawHttp> {
    const b = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
    const r = await rawHttp(
      h.proxy.port,
      `POST /gh/bad.git/git-receive-pack HTTP/1.1\r\nHost: gw\r\nAuthorization: ${auth}\r\nContent-Type: application/x-git-receive-pack-request\r\n${extra}Content-Length: ${b.length}\r\nConnection: close\r\n\r\n`,
      b,
    );
    // HTTP chunk framing may fall inside a pkt-line (the masking stage emits as it goes): match on the de-chunked body.
    const at = r.raw.indexOf('\r\n\r\n') + 4;
    const head = r.raw.subarray(0, at).toString('latin1');
    const rest = r.raw.subarray(at);
    return { ...r, text: head + (/\r\ntransfer-encoding: chunked/i.test(head) ? dechunk(rest).data : rest).toString('latin1') };
  }
  function receivePackPosts(): number {
    return h.git.requests.filter((r) => r.method === 'POST' && r.path.includes('git-receive-pack')).length;
  }
  async function stillServes(): Promise<void> {
    const r = await rawHttp(
      h.proxy.port,
      `GET /gh/bad.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: gw\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(r.status, 200, 'the gateway still serves after bad input');
  }

  test('git bad input - malformed pkt-lines get an ERR packet git can print, nothing reaches the upstream', async () => {
    const posts = receivePackPosts();
    const cases: Array<[string, string, RegExp]> = [
      ['not hex', 'zzzz0000', /ERR malformed pkt-line: length is not 4 hex digits/],
      ['length too small', '0003', /ERR malformed pkt-line: invalid length 3/],
      ['length too large', 'ffffxxxx', /ERR malformed pkt-line: length 65535 exceeds 65520/],
      ['bad command', `${pktLine('hello world\n')}0000`, /ERR malformed ref update command #1/],
      [
        'bad object name',
        `${pktLine(`${'g'.repeat(40)} ${'0'.repeat(40)} refs/heads/main\0report-status\n`)}0000`,
        /ERR malformed ref update command #1: object names must be hex/,
      ],
      ['funny ref', `${pktLine(`${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/../x\0report-status\n`)}0000`, /ERR ref update command #1 names an invalid ref/],
      ['no commands', '0000', /ERR receive-pack request holds no ref update command/],
      [
        'truncated head',
        pktLine(`${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/x\0report-status\n`),
        /ERR receive-pack request ended before its commands were complete/,
      ],
    ];
    for (const [name, body, want] of cases) {
      const r = await post(body);
      assert.equal(r.status, 200, name);
      assert.match(r.text, /content-type: application\/x-git-receive-pack-result/i, name);
      assert.match(r.text, want, name);
    }
    assert.equal(receivePackPosts(), posts, 'the upstream never saw a receive-pack');
    await stillServes();
  });

  test('git bad input - a truncated pack is reported as an unpack failure for every ref; the upstream ref is unchanged', async () => {
    const { env } = clientHome(h, 'trunc', h.token);
    const dir = join(h.dir, 'trunc');
    assert.equal((await git(h, env, ['clone', '-q', h.gatewayUrl('bad'), dir])).code, 0);
    const before = await upstreamRefs(h, 'bad');
    const old = before.get('refs/heads/main') ?? '';
    // A real pack of 200 new commits with content, cut in the middle.
    for (let i = 0; i < 200; i++)
      execFileSync('sh', ['-c', `head -c 2000 /dev/urandom > f${i % 7} && git add -A && git commit -q -m c${i}`], { cwd: dir, env });
    const tip = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, env }).toString().trim();
    const pack = execFileSync('git', ['pack-objects', '--stdout', '--revs', '--thin'], { cwd: dir, env, input: `${tip}\n^${old}\n` });
    assert.ok(pack.length > 100_000);
    const head = `${pktLine(`${old} ${tip} refs/heads/main\0report-status side-band-64k agent=test\n`)}0000`;
    const posts = receivePackPosts();
    const r = await post(Buffer.concat([Buffer.from(head, 'latin1'), pack.subarray(0, pack.length >> 1)]));
    assert.equal(r.status, 200);
    assert.match(r.text, /unpack index-pack failed: the pack is truncated or corrupt/);
    assert.match(r.text, /ng refs\/heads\/main unpacker error/);
    assert.equal(receivePackPosts(), posts);
    assert.deepEqual(await upstreamRefs(h, 'bad'), before);
    // A pack with a corrupted byte in the middle is refused the same way.
    const corrupt = Buffer.from(pack);
    corrupt[corrupt.length >> 1] = (corrupt[corrupt.length >> 1] ?? 0) ^ 0xff;
    const r2 = await post(Buffer.concat([Buffer.from(head, 'latin1'), corrupt]));
    assert.match(r2.text, /unpack index-pack failed/);
    assert.deepEqual(await upstreamRefs(h, 'bad'), before);
    // The untouched pack goes through: the refusal was about the bytes, not the push.
    const r3 = await post(Buffer.concat([Buffer.from(head, 'latin1'), pack]));
    assert.equal(r3.status, 200);
    assert.match(r3.text, /ok refs\/heads\/main/);
    assert.equal((await upstreamRefs(h, 'bad')).get('refs/heads/main'), tip);
    await stillServes();
  });

  test('git bad input - compressed push bodies, the dumb protocol and wrong methods are refused clearly', async () => {
    const gz = await post('0000', 'Content-Encoding: gzip\r\n');
    assert.match(gz.text, /ERR compressed receive-pack bodies are not accepted/);
    const dumb = await rawHttp(h.proxy.port, `GET /gh/bad.git/HEAD HTTP/1.1\r\nHost: gw\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
    assert.equal(dumb.status, 404);
    assert.match(dumb.text, /ERR_NOT_FOUND: not a smart HTTP git request/);
    const dumbRefs = await rawHttp(h.proxy.port, `GET /gh/bad.git/info/refs HTTP/1.1\r\nHost: gw\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
    assert.equal(dumbRefs.status, 404);
    const get = await rawHttp(h.proxy.port, `GET /gh/bad.git/git-receive-pack HTTP/1.1\r\nHost: gw\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
    assert.equal(get.status, 405);
    const noAuth = await rawHttp(h.proxy.port, 'GET /gh/bad.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
    assert.equal(noAuth.status, 401);
    assert.match(noAuth.text, /www-authenticate: Basic/i);
    await stillServes();
  });
});
