import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AuditEvent, decodeEvent, STREAMS } from '@agentgate/events';
import { InMemorySpanExporter, initTracing, metricValue, type MetricsServer, processMetrics, serveMetrics, shutdownTracing } from '@agentgate/telemetry';
import { type Harness, startHarness } from './harness.js';

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';

/** Every event AUDIT_RAW holds (nothing consumes it in this harness), with its message headers. */
async function rawEvents(h: Harness): Promise<Array<{ event: AuditEvent; headers: Record<string, string> }>> {
  const info = await h.bus.streams.info(STREAMS.AUDIT_RAW.name);
  const out: Array<{ event: AuditEvent; headers: Record<string, string> }> = [];
  for (let seq = info.firstSeq; seq <= info.lastSeq; seq++) {
    const m = await h.bus.streams.get(STREAMS.AUDIT_RAW.name, seq);
    if (m) out.push({ event: decodeEvent(m.data), headers: m.headers });
  }
  return out;
}

describe('proxy telemetry', () => {
  let h: Harness;
  let metrics: MetricsServer;
  const exporter = new InMemorySpanExporter();
  before(async () => {
    initTracing({ serviceName: 'proxy', exporter });
    h = await startHarness();
    metrics = await serveMetrics(processMetrics().registry, { host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await metrics.close();
    await h.close();
    await shutdownTracing();
  });
  const scrape = async (): Promise<string> => (await fetch(metrics.url)).text();

  test('proxy telemetry - requests counted by connection/decision/status; added and upstream latency; audit publishes; response findings', async () => {
    const before = await scrape();
    const auth = { authorization: `Bearer ${h.token}` };
    assert.equal((await fetch(`${h.proxy.url}/api/echo`, { headers: auth })).status, 200);
    assert.equal((await fetch(`${h.proxy.url}/api/things/1`, { method: 'DELETE', headers: auth })).status, 403);
    assert.equal((await fetch(`${h.proxy.url}/nosuch/x`, { headers: auth })).status, 404);
    assert.equal((await fetch(`${h.proxy.url}/api/echo`)).status, 401);
    // Outcome events are published after the response: wait for the counters to settle.
    await new Promise((r) => setTimeout(r, 300));
    const text = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels) - metricValue(before, name, labels);
    assert.equal(delta('agentgate_proxy_requests_total', { connection: 'api', decision: 'allow', status: '200' }), 1);
    assert.equal(delta('agentgate_proxy_requests_total', { connection: 'api', decision: 'deny', status: '403' }), 1);
    // An unknown connection is never a label value of its own (the client chooses it).
    assert.equal(delta('agentgate_proxy_requests_total', { connection: '-', decision: 'none', status: '404' }), 1);
    assert.equal(delta('agentgate_proxy_requests_total', { connection: 'api', decision: 'none', status: '401' }), 1);
    assert.doesNotMatch(text, /connection="nosuch"/);
    assert.equal(delta('agentgate_proxy_added_latency_seconds_count', { connection: 'api' }), 1);
    assert.equal(delta('agentgate_proxy_upstream_latency_seconds_count', { connection: 'api' }), 1);
    assert.ok(delta('agentgate_proxy_added_latency_seconds_sum', { connection: 'api' }) > 0);
    // requested + completed of the allowed request, denied of the refused one.
    assert.ok(delta('agentgate_audit_publish_seconds_count', { stream: 'AUDIT_RAW' }) >= 3);
    // /echo sends the brokered credential back: masked in the response, counted by type.
    const masked = text.split('\n').filter((l) => l.startsWith('agentgate_masking_findings_total{') && l.includes('where="response"'));
    assert.ok(masked.length > 0, 'response findings counted');
  });

  test('proxy telemetry - a span per request and per stage, continuing the client traceparent; sent upstream and on the audit events', async () => {
    exporter.reset();
    const res = await fetch(`${h.proxy.url}/api/echo`, {
      headers: { authorization: `Bearer ${h.token}`, traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
    });
    assert.equal(res.status, 200);
    await res.text();
    await new Promise((r) => setTimeout(r, 300));
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === CLIENT_TRACE);
    const request = spans.find((s) => s.name === 'agentgate.request');
    assert.ok(request, `spans: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(request.parentSpanContext?.spanId, CLIENT_SPAN);
    assert.equal(request.attributes['http.response.status_code'], 200);
    const requestSpan = request.spanContext().spanId;
    for (const stage of ['authenticate', 'decide', 'lease', 'record', 'forward', 'mask']) {
      const s = spans.find((x) => x.name === `agentgate.${stage}`);
      assert.ok(s, `a span for ${stage}`);
      assert.equal(s.parentSpanContext?.spanId, requestSpan, `${stage} is a child of the request`);
    }
    // The upstream got the forward span as its parent, in the same trace.
    const forward = spans.find((s) => s.name === 'agentgate.forward');
    const seen = h.upstream.seen.at(-1);
    assert.equal(seen?.headers.traceparent, `00-${CLIENT_TRACE}-${forward?.spanContext().spanId}-01`);
    // Every audit event of the request carries the trace and is published with its traceparent (the masking service continues it).
    const events = (await rawEvents(h)).filter((e) => e.event.trace?.id === CLIENT_TRACE);
    assert.deepEqual(events.map((e) => e.event.agentgate.action.phase).sort(), ['completed', 'requested']);
    for (const e of events) {
      assert.equal(e.event.span?.id, requestSpan);
      assert.match(e.headers['traceparent'] ?? '', new RegExp(`^00-${CLIENT_TRACE}-[0-9a-f]{16}-01$`));
    }
  });

  test('proxy telemetry - without a client traceparent the request starts a trace, and its events carry it', async () => {
    exporter.reset();
    const res = await fetch(`${h.proxy.url}/api/echo`, { headers: { authorization: `Bearer ${h.token}` } });
    await res.text();
    await new Promise((r) => setTimeout(r, 300));
    const request = exporter.getFinishedSpans().find((s) => s.name === 'agentgate.request');
    const traceId = request?.spanContext().traceId;
    assert.match(traceId ?? '', /^[0-9a-f]{32}$/);
    const events = (await rawEvents(h)).filter((e) => e.event.trace?.id === traceId);
    assert.equal(events.length, 2);
  });
});
