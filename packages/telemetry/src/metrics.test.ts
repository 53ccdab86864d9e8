import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentgateMetrics, processMetrics } from './metrics.js';
import { metricValue as sample } from './sample.js';

test('metrics - names follow the Prometheus conventions: agentgate_ prefix, base units, counters end in _total', async () => {
  const m = new AgentgateMetrics({ defaultMetrics: false });
  const metrics = await m.registry.getMetricsAsJSON();
  assert.ok(metrics.length >= 15);
  for (const metric of metrics) {
    assert.match(metric.name, /^agentgate_[a-z_]+$/, metric.name);
    if (String(metric.type) === 'counter') assert.match(metric.name, /_total$/, metric.name);
    else assert.doesNotMatch(metric.name, /_total$/, metric.name);
    if (String(metric.type) === 'histogram') assert.match(metric.name, /_seconds$/, metric.name);
    assert.doesNotMatch(metric.name, /_(ms|milliseconds|us)$/, metric.name);
    assert.ok(metric.help.length > 20, `${metric.name} says what it counts`);
  }
});

test('metrics - the process registry carries the default Node.js metrics', async () => {
  const text = await processMetrics().text();
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  assert.equal(processMetrics(), processMetrics(), 'one registry per process');
});

test('metrics - requestDone counts by connection, decision and status and observes added and upstream latency', async () => {
  const m = new AgentgateMetrics({ defaultMetrics: false });
  m.requestDone('gh', 'allow', 200, 500_000, 2_000_000);
  m.requestDone('gh', 'allow', 200, 200_000);
  m.requestDone('gh', 'deny', 403);
  const text = await m.text();
  assert.equal(sample(text, 'agentgate_proxy_requests_total', { connection: 'gh', decision: 'allow', status: '200' }), 2);
  assert.equal(sample(text, 'agentgate_proxy_requests_total', { connection: 'gh', decision: 'deny', status: '403' }), 1);
  // A refusal before forwarding observes no latency.
  assert.equal(sample(text, 'agentgate_proxy_added_latency_seconds_count', { connection: 'gh' }), 2);
  assert.ok(Math.abs(sample(text, 'agentgate_proxy_added_latency_seconds_sum', { connection: 'gh' }) - 0.0007) < 1e-9);
  assert.equal(sample(text, 'agentgate_proxy_added_latency_seconds_bucket', { connection: 'gh', le: '0.00025' }), 1);
  assert.equal(sample(text, 'agentgate_proxy_upstream_latency_seconds_count', { connection: 'gh' }), 1);
  assert.equal(sample(text, 'agentgate_proxy_upstream_latency_seconds_sum', { connection: 'gh' }), 0.002);
});

test('metrics - consumer lag is read at scrape time; an unreachable stream keeps the last value and the scrape succeeds', async () => {
  const m = new AgentgateMetrics({ defaultMetrics: false });
  let pending = 7;
  let fail = false;
  m.watchConsumer({
    stream: 'AUDIT_RAW',
    name: 'masking',
    pending: async () => {
      if (fail) throw new Error('bus down');
      return { pending, ackPending: 2 };
    },
  });
  let text = await m.text();
  assert.equal(sample(text, 'agentgate_stream_consumer_pending_messages', { stream: 'AUDIT_RAW', consumer: 'masking' }), 7);
  assert.equal(sample(text, 'agentgate_stream_consumer_ack_pending_messages', { stream: 'AUDIT_RAW', consumer: 'masking' }), 2);
  pending = 3;
  text = await m.text();
  assert.equal(sample(text, 'agentgate_stream_consumer_pending_messages', { stream: 'AUDIT_RAW', consumer: 'masking' }), 3);
  fail = true;
  text = await m.text();
  assert.equal(sample(text, 'agentgate_stream_consumer_pending_messages', { stream: 'AUDIT_RAW', consumer: 'masking' }), 3);
});
