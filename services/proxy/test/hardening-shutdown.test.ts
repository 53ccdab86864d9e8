import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { assertNoSecret, auditEvents, errorOf, rawHttp } from './harness.js';
import { getHead, type HardeningHarness, startHardening } from './hardening-harness.js';

interface Streamed {
  status: number;
  body: string;
  /** ms since the request was sent when the first body byte came, and when the body ended. */
  firstByteMs: number;
  endMs: number;
  complete: boolean;
}

/** A GET through `agent` that resolves when the body ends (or the connection breaks: complete false). */
function streamGet(port: number, token: string, path: string, agent: Agent, onFirstByte?: () => void): Promise<Streamed> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      let firstByteMs = -1;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (firstByteMs < 0) {
          firstByteMs = Date.now() - t0;
          onFirstByte?.();
        }
        body += c;
      });
      const done = (complete: boolean) => resolve({ status: res.statusCode ?? 0, body, firstByteMs, endMs: Date.now() - t0, complete });
      res.on('end', () => done(true));
      res.on('aborted', () => done(false));
      res.on('error', () => done(false));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('graceful shutdown: close() stops accepting, lets requests in flight finish, then closes', () => {
  let h: HardeningHarness;
  before(async () => {
    // A long grace period: a close() that waits on idle keep-alive sockets would show as a 10 s close.
    h = await startHardening({ limits: { shutdownTimeoutMs: 10_000, idleTimeoutMs: 60_000 } });
  });
  after(async () => {
    await h?.close();
  });

  test('shutdown - a slow streamed response in flight completes intact and recorded; idle keep-alive sockets do not hold close(); new connections are refused', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    try {
      // An idle kept-alive connection, as a CI client leaves it between calls.
      const warm = await streamGet(h.proxy.port, h.token, '/api/warm', agent);
      assert.equal(warm.status, 200);
      assert.equal(Object.values(agent.freeSockets).flat().length, 1, 'one idle keep-alive socket to the proxy');

      let closeStarted = 0;
      let closed: Promise<void> | undefined;
      const slow = streamGet(h.proxy.port, h.token, '/api/slow-stream?ms=1000&pieces=20', agent, () => {
        // Shutdown starts while the body is streaming.
        closeStarted = Date.now();
        closed = h.proxy.close();
      });
      const r = await slow;
      assert.ok(closed, 'close() was called while the response streamed');
      await closed;
      const closeMs = Date.now() - closeStarted;
      const storedAtClose = await auditEvents(h.bus);

      assert.equal(r.status, 200);
      assert.equal(r.complete, true, 'the body ended normally, not cut');
      const lines = r.body.trimEnd().split('\n');
      assert.equal(lines.length, 21, 'all 20 pieces and the end marker arrived');
      for (const [i, line] of lines.slice(0, 20).entries()) assert.match(line, new RegExp(`^piece ${String(i).padStart(3, '0')} \\[REDACTED`));
      assert.equal(lines[20], 'done');
      assertNoSecret(r.body, h.secret, 'slow stream');
      assert.ok(r.endMs - r.firstByteMs > 700, 'close() did not cut the stream short');
      assert.ok(closeMs < 3000, `close() took ${closeMs} ms: it waited on an idle keep-alive socket instead of closing it`);

      // No polling: main.ts drains the bus right after close(), so the record must be stored by the time it resolves.
      const completed = storedAtClose.find((e) => e.url?.path === '/api/slow-stream' && e.agentgate.action.phase === 'completed');
      assert.ok(completed, 'the completed event of the request in flight was stored before close() resolved');
      assert.equal(completed.http?.response?.status_code, 200);
      assert.equal(completed.http?.response?.bytes, Buffer.byteLength(r.body));

      // After close: nothing listens.
      const seen = h.upstream.seen.length;
      const refused = await rawHttp(h.proxy.port, getHead(h.token, '/api/after-close')).then(
        (x) => `answered ${x.status}`,
        (err: NodeJS.ErrnoException) => err.code ?? 'error',
      );
      assert.ok(refused === 'answered 0' || refused === 'ECONNREFUSED', `a new connection after close() got: ${refused}`);
      const again = await streamGet(h.proxy.port, h.token, '/api/after-close-agent', agent).then(
        (x) => `answered ${x.status}`,
        (err: NodeJS.ErrnoException) => err.code ?? 'error',
      );
      assert.equal(again, 'ECONNREFUSED', 'the kept-alive socket was closed and a new one is refused');
      assert.equal(h.upstream.seen.length, seen, 'nothing reached the upstream after close()');
    } finally {
      agent.destroy();
    }
  });
});

// ERR_SHUTTING_DOWN for a request arriving on a kept-alive socket between close() and the socket's closing.
describe('graceful shutdown: a request on a kept-alive connection during shutdown gets 503', () => {
  let h: HardeningHarness;
  before(async () => {
    h = await startHardening({ limits: { shutdownTimeoutMs: 10_000 } });
  });
  after(async () => {
    await h?.close();
  });

  test('shutdown - a second request pipelined behind a slow one on the same connection is refused with 503 ERR_SHUTTING_DOWN and not forwarded', async () => {
    const { connect } = await import('node:net');
    const sock = connect(h.proxy.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve) => sock.on('close', () => resolve()));
    sock.write(`GET /api/slow-stream?ms=600&pieces=6 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${h.token}\r\n\r\n`);
    // Wait for the first body bytes, then close and send the next request on the same (busy, so not idle) connection.
    for (let i = 0; i < 200 && !Buffer.concat(chunks).includes('piece 000'); i++) await new Promise((r) => setTimeout(r, 10));
    const closed = h.proxy.close();
    sock.write(`GET /api/late HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${h.token}\r\n\r\n`);
    await closed;
    await ended;
    const text = Buffer.concat(chunks).toString('latin1');
    const second = text.indexOf('HTTP/1.1', 10);
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.ok(text.includes('done'), 'the request in flight finished');
    assert.ok(second > 0, 'the pipelined request was answered');
    assert.match(text.slice(second), /^HTTP\/1\.1 503/);
    assert.equal(errorOf(text.slice(second)).code, 'ERR_SHUTTING_DOWN');
    assert.ok(!h.upstream.seen.some((u) => u.includes('/late')), 'the refused request never reached the upstream');
  });
});
