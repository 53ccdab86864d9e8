import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentgateMetrics } from './metrics.js';
import { serveMetrics } from './serve.js';

test('serve - GET /metrics answers the Prometheus text format; other paths and methods do not', async () => {
  const m = new AgentgateMetrics({ defaultMetrics: false });
  m.identityVerifications.inc({ outcome: 'verified' });
  const server = await serveMetrics(m.registry, { host: '127.0.0.1', port: 0 });
  try {
    const res = await fetch(server.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^# TYPE agentgate_identity_verifications_total counter$/m);
    assert.match(text, /^agentgate_identity_verifications_total\{outcome="verified"\} 1$/m);
    assert.equal((await fetch(server.url.replace('/metrics', '/other'))).status, 404);
    assert.equal((await fetch(server.url, { method: 'POST', body: 'x' })).status, 405);
  } finally {
    await server.close();
  }
});
