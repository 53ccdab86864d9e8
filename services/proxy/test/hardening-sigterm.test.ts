import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort } from '@agentgate/testkit';
import { assertNoSecret, auditEvents, rawHttp } from './harness.js';
import { getHead, type HardeningHarness, startHardening } from './hardening-harness.js';
import { type ProxyProcess, sigtermMidStream, startProxyProcess } from './proxy-process.js';

describe('SIGTERM: the proxy process finishes requests in flight, stores their records, then exits 0', () => {
  let h: HardeningHarness;
  let proc: ProxyProcess | undefined;
  before(async () => {
    h = await startHardening();
  });
  after(async () => {
    await proc?.stop();
    await h?.close();
  });

  test('sigterm - a slow stream in flight completes intact, its completed event is stored, the process exits 0 and the port is closed', async () => {
    const port = await freePort();
    const p = await startProxyProcess(h.configText({ limits: { shutdownTimeoutMs: 10_000 } }), h.nats.url, port);
    proc = p;
    const t0 = Date.now();
    const res = await sigtermMidStream(p, h.token);
    assert.ok(res.signalled > 0, 'SIGTERM was sent while the body streamed');
    assert.equal(res.status, 200);
    assert.equal(res.complete, true, 'the body was not cut by the shutdown');
    const lines = res.body.trimEnd().split('\n');
    assert.equal(lines.length, 21);
    assert.equal(lines[20], 'done');
    assertNoSecret(res.body, h.secret, 'slow stream');
    assert.ok(Date.now() - res.signalled > 700, 'the stream went on after SIGTERM');

    const code = await p.exited;
    assert.equal(code, 0, `the proxy exited with ${code}`);
    assert.ok(Date.now() - t0 < 8000, 'the process did not wait for the 10 s grace period');
    const completed = (await auditEvents(h.bus)).find((e) => e.url?.path === '/api/slow-stream' && e.agentgate.action.phase === 'completed');
    assert.ok(completed, 'the completed event was stored before the process exited');
    assert.equal(completed.http?.response?.bytes, Buffer.byteLength(res.body));
    assert.match(p.output(), /proxy stopped/);

    const after = await rawHttp(port, getHead(h.token, '/api/after-exit')).then(
      (x) => `answered ${x.status}`,
      (err: NodeJS.ErrnoException) => err.code ?? 'error',
    );
    assert.ok(after === 'answered 0' || after === 'ECONNREFUSED', `a connection after exit got: ${after}`);
    assert.ok(!h.upstream.seen.some((u) => u.includes('after-exit')));
  });
});
