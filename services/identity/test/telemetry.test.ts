import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { githubClaims } from '@agentgate/testkit';
import { InMemorySpanExporter, initTracing, metricValue, processMetrics, serveMetrics, shutdownTracing } from '@agentgate/telemetry';
import { startIdentityService, VERIFY_SUBJECT } from '../src/index.js';
import { configFor, type Issuers, startIssuers } from './helpers.js';

let iss: Issuers;
before(async () => {
  iss = await startIssuers();
});
after(async () => {
  await iss.close();
});

test('identity telemetry - /metrics counts verifications by outcome and JWKS fetches by issuer; verify continues the caller trace', async () => {
  const exporter = new InMemorySpanExporter();
  initTracing({ serviceName: 'identity', exporter });
  const metrics = await serveMetrics(processMetrics().registry, { host: '127.0.0.1', port: 0 });
  const bus = await createBus();
  try {
    const scrape = async () => (await fetch(metrics.url)).text();
    const before = await scrape();
    const svc = await startIdentityService(bus, configFor(iss));
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await bus.request(VERIFY_SUBJECT, { token: await iss.gh.mint(githubClaims()) }, { headers: { traceparent } });
    await assert.rejects(bus.request(VERIFY_SUBJECT, { token: await iss.gh.mint(githubClaims(), { expiresIn: -60 }) }), { code: 'ERR_TOKEN_EXPIRED' });
    await assert.rejects(bus.request(VERIFY_SUBJECT, { nothing: true }), { code: 'ERR_TOKEN_MALFORMED' });
    const text = await scrape();
    const delta = (name: string, labels: Record<string, string>) => metricValue(text, name, labels) - metricValue(before, name, labels);
    assert.equal(delta('agentgate_identity_verifications_total', { outcome: 'verified' }), 1);
    assert.equal(delta('agentgate_identity_verifications_total', { outcome: 'ERR_TOKEN_EXPIRED' }), 1);
    assert.equal(delta('agentgate_identity_verifications_total', { outcome: 'ERR_TOKEN_MALFORMED' }), 1);
    assert.equal(delta('agentgate_identity_jwks_refreshes_total', { issuer: iss.gh.issuer, outcome: 'ok' }), 1);
    assert.match(text, /^nodejs_heap_size_used_bytes /m, 'default Node.js metrics');
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'agentgate.identity.verify');
    assert.equal(spans.length, 3);
    const continued = spans.find((s) => s.spanContext().traceId === '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(continued?.parentSpanContext?.spanId, '00f067aa0ba902b7');
    assert.ok(spans.some((s) => s.status.message === 'ERR_TOKEN_EXPIRED'));
    await svc.stop();
  } finally {
    await bus.close();
    await metrics.close();
    await shutdownTracing();
  }
});
