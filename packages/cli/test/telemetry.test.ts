import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { metricValue } from '@agentgate/telemetry';
import { freePort, startNats } from '@agentgate/testkit';
import { startGateway } from '../src/index.js';

const SERVICES = ['audit-writer', 'identity', 'secret-broker', 'masking', 'proxy'];

test('start telemetry - one process: one /metrics for all five services, and all five answer NATS micro-service ping/info/stats', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-telemetry-'));
  const nats = await startNats();
  const [proxyPort, metricsPort] = [await freePort(), await freePort()];
  const text = [
    `gateway: { listen: { host: 127.0.0.1, port: ${proxyPort} } }`,
    `bus: { natsUrl: "${nats.url}", dataDir: "${join(dir, 'data')}" }`,
    'audit:',
    '  sinks:',
    `    - { type: local, path: "${join(dir, 'audit')}" }`,
    `telemetry: { metrics: { listen: { host: 127.0.0.1, port: ${metricsPort} } } }`,
    'log: { level: silent }',
  ].join('\n');
  const gw = await startGateway(loadConfig({ text, env: {} }));
  const client = await createBus({ natsUrl: nats.url, name: 'telemetry-test' });
  try {
    assert.equal(gw.metricsUrl, `http://127.0.0.1:${metricsPort}/metrics`);
    for (const name of SERVICES) {
      const ping = (await client.requestRaw(`$SRV.PING.${name}`, '', { timeoutMs: 2000 })).json<{ name: string; type: string }>();
      assert.equal(ping.name, name);
      assert.equal(ping.type, 'io.nats.micro.v1.ping_response');
      const info = (await client.requestRaw(`$SRV.INFO.${name}`, '', { timeoutMs: 2000 })).json<{ version: string; description: string }>();
      assert.equal(info.version, '0.1.0');
      assert.ok(info.description.length > 0);
      const stats = (await client.requestRaw(`$SRV.STATS.${name}`, '', { timeoutMs: 2000 })).json<{ type: string }>();
      assert.equal(stats.type, 'io.nats.micro.v1.stats_response');
    }
    const scrape = async (): Promise<string> => (await fetch(gw.metricsUrl!)).text();
    const before = await scrape();
    // A request the proxy answers, and the lag of both stream consumers of this process, on the one endpoint.
    assert.equal((await fetch(`${gw.url}/nosuch/x`)).status, 404);
    const after = await scrape();
    assert.equal(
      metricValue(after, 'agentgate_proxy_requests_total', { connection: '-', decision: 'none', status: '404' }) -
        metricValue(before, 'agentgate_proxy_requests_total', { connection: '-', decision: 'none', status: '404' }),
      1,
    );
    assert.match(after, /^agentgate_stream_consumer_pending_messages\{stream="AUDIT_RAW",consumer="masking"\} \d+$/m);
    assert.match(after, /^agentgate_stream_consumer_pending_messages\{stream="AUDIT_CLEAN",consumer="audit-writer"\} \d+$/m);
    assert.match(after, /^process_resident_memory_bytes \d+/m);
    assert.equal(after.match(/^# TYPE process_cpu_user_seconds_total /gm)?.length, 1, 'one registry: each metric once');
  } finally {
    await client.close();
    await gw.stop();
    await nats.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
