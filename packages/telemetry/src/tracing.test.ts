import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { activeTraceIds, continueTrace, endSpan, initTracing, injectTraceContext, shutdownTracing, stage, tracingEnabled } from './tracing.js';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

test('tracing - off unless configured: no spans, no ids, headers untouched', async () => {
  assert.equal(initTracing({ serviceName: 'proxy' }), false);
  assert.equal(tracingEnabled(), false);
  const headers: Record<string, string> = {};
  const out = await continueTrace({ traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` }, 'agentgate.request', 'server', {}, async (span) => {
    assert.equal(span, undefined);
    injectTraceContext(headers);
    return stage('decide', async () => activeTraceIds());
  });
  assert.equal(out, undefined);
  assert.deepEqual(headers, {});
});

test('tracing - a request span continues the client traceparent; stages are its children; the context goes on in headers', async () => {
  const exporter = new InMemorySpanExporter();
  assert.equal(initTracing({ serviceName: 'proxy', exporter }), true);
  try {
    const headers: Record<string, string> = {};
    let ids: ReturnType<typeof activeTraceIds>;
    await continueTrace(
      { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
      'agentgate.request',
      'server',
      { 'agentgate.connection': 'gh' },
      async (span) => {
        ids = activeTraceIds();
        await stage('authenticate', async () => {});
        await stage('forward', async () => injectTraceContext(headers));
        await stage('lease', async () => {
          throw Object.assign(new Error('secret text never exported'), { code: 'ERR_CREDENTIAL_UNAVAILABLE' });
        }).catch(() => {});
        endSpan(span);
      },
    );
    const spans = exporter.getFinishedSpans();
    const byName = new Map(spans.map((s) => [s.name, s]));
    const request = byName.get('agentgate.request');
    assert.ok(request);
    assert.equal(request.spanContext().traceId, CLIENT_TRACE);
    assert.equal(request.parentSpanContext?.spanId, CLIENT_SPAN);
    assert.deepEqual(ids, { traceId: CLIENT_TRACE, spanId: request.spanContext().spanId });
    for (const name of ['agentgate.authenticate', 'agentgate.forward', 'agentgate.lease']) {
      assert.equal(byName.get(name)?.parentSpanContext?.spanId, request.spanContext().spanId, name);
    }
    const forward = byName.get('agentgate.forward');
    assert.equal(headers['traceparent'], `00-${CLIENT_TRACE}-${forward?.spanContext().spanId}-01`);
    const lease = byName.get('agentgate.lease');
    assert.equal(lease?.status.code, 2);
    assert.equal(lease?.status.message, 'ERR_CREDENTIAL_UNAVAILABLE');
    assert.ok(!JSON.stringify(lease?.attributes).includes('secret text'));
  } finally {
    await shutdownTracing();
  }
  assert.equal(tracingEnabled(), false);
});

test('tracing - without a traceparent a new trace starts', async () => {
  const exporter = new InMemorySpanExporter();
  initTracing({ serviceName: 'masking', exporter });
  try {
    const ids = await continueTrace({}, 'agentgate.mask', 'consumer', {}, async (span) => {
      const got = activeTraceIds();
      endSpan(span);
      return got;
    });
    assert.match(ids?.traceId ?? '', /^[0-9a-f]{32}$/);
    assert.notEqual(ids?.traceId, CLIENT_TRACE);
    assert.equal(exporter.getFinishedSpans()[0]?.spanContext().traceId, ids?.traceId);
  } finally {
    await shutdownTracing();
  }
});
