import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../index.js';

function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    loadConfig({ text, env, path: '/virtual/agentgate.yaml' });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => i.path);
  }
  assert.fail('expected ERR_CONFIG_INVALID');
}

test('config telemetry - metrics and tracing are off by default; log format is auto', () => {
  const c = loadConfig({ text: '', env: {} });
  assert.equal(c.telemetry.metrics.listen, undefined);
  assert.equal(c.telemetry.tracing.otlpEndpoint, undefined);
  assert.equal(c.telemetry.tracing.sampleRatio, 1);
  assert.equal(c.log.format, 'auto');
});

test('config telemetry - listen, endpoint and ratio from the file; METRICS_PORT and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT override', () => {
  const text =
    'telemetry:\n  metrics: { listen: { port: 9464 } }\n  tracing: { otlpEndpoint: "http://collector:4318/v1/traces", sampleRatio: 0.25 }\nlog: { format: json }\n';
  const c = loadConfig({ text, env: {} });
  assert.deepEqual(c.telemetry.metrics.listen, { host: '127.0.0.1', port: 9464 });
  assert.equal(c.telemetry.tracing.otlpEndpoint, 'http://collector:4318/v1/traces');
  assert.equal(c.telemetry.tracing.sampleRatio, 0.25);
  assert.equal(c.log.format, 'json');
  const env = loadConfig({ text: '', env: { METRICS_PORT: '9470', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://otel:4318/v1/traces' } });
  assert.deepEqual(env.telemetry.metrics.listen, { host: '127.0.0.1', port: 9470 });
  assert.equal(env.telemetry.tracing.otlpEndpoint, 'http://otel:4318/v1/traces');
});

test('config telemetry - bad keys and values name their path', () => {
  assert.deepEqual(issuesOf('telemetry:\n  tracing: { otlpEndpoint: "grpc://x:4317" }\n'), ['telemetry.tracing.otlpEndpoint']);
  assert.deepEqual(issuesOf('telemetry:\n  tracing: { sampleRatio: 2 }\n'), ['telemetry.tracing.sampleRatio']);
  assert.deepEqual(issuesOf('telemetry:\n  metrics: { listen: { port: 0 } }\n'), ['telemetry.metrics.listen.port']);
  assert.deepEqual(issuesOf('telemetry:\n  metric: {}\n').length, 1);
  assert.deepEqual(issuesOf('log: { format: fancy }\n'), ['log.format']);
  assert.deepEqual(issuesOf('', { METRICS_PORT: 'x' }), ['METRICS_PORT']);
});
