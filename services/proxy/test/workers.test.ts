import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { freePort } from '@agentgate/testkit';
import { assertNoSecret, auditEvents, rawHttp } from './harness.js';
import { getHead, type HardeningHarness, startHardening } from './hardening-harness.js';
import { type ProxyProcess, sigtermMidStream, startProxyProcess } from './proxy-process.js';

/** The worker processes of a primary (its children). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe('gateway.workers: 2 — the proxy process is a primary with two workers sharing the port', () => {
  let h: HardeningHarness;
  let proc: ProxyProcess | undefined;
  before(async () => {
    h = await startHardening();
  });
  after(async () => {
    await proc?.stop();
    await h?.close();
  });

  test('workers - both serve (refusals logged by worker 0 and 1), requests are recorded, a killed worker is replaced, SIGTERM drains both and exits 0', async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    const text = `${h.configText({ limits: { shutdownTimeoutMs: 10_000 } }).replace('  name: hardening-gateway\n', '  name: hardening-gateway\n  workers: 2\n')}\ntelemetry:\n  metrics:\n    listen: { port: ${metricsPort} }\n`;
    assert.match(text, /workers: 2/);
    const p = await startProxyProcess(text, h.nats.url, port);
    proc = p;
    const primary = p.child.pid!;
    await until('two workers listening', () => count(p.output(), 'proxy listening') === 2);
    assert.equal(childrenOf(primary).length, 2, 'the primary has two worker processes');

    // Each new connection goes to the next worker: refusals (unknown connection) are logged by both.
    for (let i = 0; i < 8; i++) {
      const r = await rawHttp(port, getHead(h.token, `/nope/refused-${i}`));
      assert.equal(r.status, 404);
    }
    await until(
      'refusals logged by both workers',
      () => /"worker":0[^\n]*request refused/.test(p.output()) && /"worker":1[^\n]*request refused/.test(p.output()),
    );

    // Allowed requests through both workers: answered, no credential in any byte, each with its intent and outcome stored.
    for (let i = 0; i < 6; i++) {
      const r = await rawHttp(port, getHead(h.token, `/api/workers-${i}`));
      assert.equal(r.status, 200, r.text);
      assertNoSecret(r.raw, h.secret, `request ${i}`);
    }
    // The outcome is recorded in the background after the answer: wait for it.
    let phases: string[][] = [];
    for (let t = 0; t < 100; t++) {
      const events = await auditEvents(h.bus);
      phases = Array.from({ length: 6 }, (_, i) =>
        events
          .filter((e) => e.url?.path === `/api/workers-${i}`)
          .map((e) => e.agentgate.action.phase)
          .sort(),
      );
      if (phases.every((ph) => ph.length >= 2)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < 6; i++) assert.deepEqual(phases[i], ['completed', 'requested'], `events of request ${i}`);

    // /metrics is the primary's (the workers serve none: they share every port), and counts all workers' requests.
    assert.match(p.output(), /metrics of all workers served/);
    const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(scrape.status, 200);
    const metrics = await scrape.text();
    const allowed = metrics
      .split('\n')
      .filter((l) => l.startsWith('agentgate_proxy_requests_total{') && l.includes('decision="allow"') && l.includes('status="200"'))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    assert.equal(allowed, 6, `every worker's requests, summed (each worker served about half):\n${metrics.slice(0, 3000)}`);

    // A worker that dies is replaced; the port keeps answering meanwhile.
    const [victim] = childrenOf(primary);
    process.kill(victim!, 'SIGKILL');
    await until('a replacement worker', () => {
      const kids = childrenOf(primary);
      return kids.length === 2 && !kids.includes(victim!);
    });
    assert.match(p.output(), /proxy worker exited unexpectedly/);
    await until('the replacement listening', () => count(p.output(), 'proxy listening') === 3);
    const again = await rawHttp(port, getHead(h.token, '/api/after-replace'));
    assert.equal(again.status, 200);

    // SIGTERM to the primary while a body streams: the stream completes, its record is stored, every process exits.
    const workers = childrenOf(primary);
    const res = await sigtermMidStream(p, h.token);
    assert.ok(res.signalled > 0);
    assert.equal(res.status, 200);
    assert.equal(res.complete, true, 'the body was not cut by the shutdown');
    assert.equal(res.body.trimEnd().split('\n').at(-1), 'done');
    assertNoSecret(res.body, h.secret, 'slow stream');
    const code = await p.exited;
    assert.equal(code, 0, `the primary exited with ${code}:\n${p.output().slice(-2000)}`);
    for (const w of workers) assert.throws(() => process.kill(w, 0), `worker ${w} is gone`);
    assert.equal(count(p.output(), 'proxy stopped'), 2, 'both workers drained');
    assert.match(p.output(), /proxy workers stopped/);
    const completed = (await auditEvents(h.bus)).find((e) => e.url?.path === '/api/slow-stream' && e.agentgate.action.phase === 'completed');
    assert.ok(completed, 'the completed event was stored before the workers exited');
    assert.equal(completed.http?.response?.bytes, Buffer.byteLength(res.body));
  });
});
