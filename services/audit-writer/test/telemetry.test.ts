import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { cleanSubject, encodeEvent, eventMsgId } from '@agentgate/events';
import { InMemorySpanExporter, initTracing, metricValue, processMetrics, serveMetrics, shutdownTracing } from '@agentgate/telemetry';
import { startAuditWriter } from '../src/index.js';
import { makeEvents, testLogger, tmp, waitUntil, writerConfig } from './helpers.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

test('audit-writer telemetry - /metrics counts indexed and dead-lettered events and the consumer lag; each event continues its trace', async () => {
  const exporter = new InMemorySpanExporter();
  initTracing({ serviceName: 'audit-writer', exporter });
  const metrics = await serveMetrics(processMetrics().registry, { host: '127.0.0.1', port: 0 });
  const dir = tmp('telemetry');
  const bus = await createBus({ dataDir: join(dir, 'bus') });
  const scrape = async (): Promise<string> => (await fetch(metrics.url)).text();
  try {
    const config = writerConfig(dir, [{ type: 'local', path: join(dir, 'audit') }]);
    // Bound once and stopped: what is published now waits, and the scrape shows it as the consumer's lag.
    await (await startAuditWriter(bus, config, testLogger())).stop();
    const before = await scrape();
    const [traced, plain] = makeEvents(2);
    await bus.streams.publish(cleanSubject(traced!), encodeEvent(traced!), {
      msgId: eventMsgId(traced!),
      headers: { traceparent: `00-${TRACE}-${PARENT}-01` },
    });
    await bus.streams.publish(cleanSubject(plain!), encodeEvent(plain!), { msgId: eventMsgId(plain!) });
    await bus.streams.publish('audit.clean.garbage', 'not an event', { msgId: 'garbage-1' });
    const lagging = await scrape();
    assert.equal(metricValue(lagging, 'agentgate_stream_consumer_pending_messages', { stream: 'AUDIT_CLEAN', consumer: 'audit-writer' }), 3);

    const writer = await startAuditWriter(bus, config, testLogger());
    await waitUntil('indexed and dead-lettered', () => writer.stats().indexed === 2 && writer.stats().deadLettered === 1);
    await writer.stop();
    const text = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels) - metricValue(before, name, labels);
    assert.equal(delta('agentgate_writer_indexed_total', { sink: 'local' }), 2);
    assert.equal(delta('agentgate_writer_dead_lettered_total'), 1);
    assert.equal(metricValue(text, 'agentgate_stream_consumer_pending_messages', { stream: 'AUDIT_CLEAN', consumer: 'audit-writer' }), 0);
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'agentgate.index');
    const continued = spans.find((s) => s.spanContext().traceId === TRACE);
    assert.equal(continued?.parentSpanContext?.spanId, PARENT, 'the event carrying a traceparent continues that trace');
  } finally {
    await bus.close();
    await metrics.close();
    await shutdownTracing();
  }
});
