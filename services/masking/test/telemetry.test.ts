import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { encodeEvent, eventMsgId, rawSubject } from '@agentgate/events';
import { startSecretBroker } from '@agentgate/secret-broker';
import { InMemorySpanExporter, initTracing, metricValue, processMetrics, serveMetrics, shutdownTracing } from '@agentgate/telemetry';
import { tempDir, waitFor } from '@agentgate/testkit';
import { startMaskingService } from '../src/index.js';
import { CLEAN, captureLogger, DLQ, githubToken, rawEvent, readStream, SECRET, streamCount, testConfig } from './helpers.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

test('masking telemetry - /metrics counts events and findings by type, dead letters and the AUDIT_RAW lag; the trace goes on to the clean stream', async () => {
  const exporter = new InMemorySpanExporter();
  initTracing({ serviceName: 'masking', exporter });
  const metrics = await serveMetrics(processMetrics().registry, { host: '127.0.0.1', port: 0 });
  const dir = tempDir('masking-telemetry');
  const bus = await createBus({ dataDir: dir.path });
  const scrape = async (): Promise<string> => (await fetch(metrics.url)).text();
  try {
    const config = testConfig();
    const broker = await startSecretBroker(bus, config, undefined, { env: { GH_TOKEN: SECRET } });
    // Bound once and stopped: what is published now waits, and the scrape shows it as the consumer's lag.
    await (await startMaskingService(bus, config, captureLogger().logger)).stop();
    const before = await scrape();
    const secretEvent = rawEvent({ attributes: { echoed: `printed ${SECRET} and ${githubToken()}` } });
    const cleanEvent = rawEvent({ attributes: { note: 'nothing secret here' } });
    await bus.streams.publish(rawSubject(secretEvent), encodeEvent(secretEvent), {
      msgId: eventMsgId(secretEvent),
      headers: { traceparent: `00-${TRACE}-${PARENT}-01` },
    });
    await bus.streams.publish(rawSubject(cleanEvent), encodeEvent(cleanEvent), { msgId: eventMsgId(cleanEvent) });
    await bus.streams.publish('audit.raw.poison', 'not json', { msgId: 'poison-1' });
    const lagging = await scrape();
    assert.equal(metricValue(lagging, 'agentgate_stream_consumer_pending_messages', { stream: 'AUDIT_RAW', consumer: 'masking' }), 3);

    const svc = await startMaskingService(bus, config, captureLogger().logger);
    // The secret event gives a clean event and an exposure event; the poison message a dead letter.
    await waitFor(async () => (await streamCount(bus, CLEAN)) >= 3 && (await streamCount(bus, DLQ)) >= 1, { what: 'masked and dead-lettered' });
    await svc.stop();
    await broker.stop();
    const text = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels) - metricValue(before, name, labels);
    assert.equal(delta('agentgate_masking_events_total', { result: 'masked' }), 1);
    assert.equal(delta('agentgate_masking_events_total', { result: 'clean' }), 1);
    assert.equal(delta('agentgate_masking_events_total', { result: 'failed' }), 1);
    assert.equal(delta('agentgate_masking_findings_total', { type: 'secret', where: 'event' }), 1);
    assert.equal(delta('agentgate_masking_findings_total', { type: 'github-token', where: 'event' }), 1);
    assert.equal(metricValue(text, 'agentgate_stream_consumer_pending_messages', { stream: 'AUDIT_RAW', consumer: 'masking' }), 0);

    const span = exporter.getFinishedSpans().find((s) => s.name === 'agentgate.mask' && s.spanContext().traceId === TRACE);
    assert.equal(span?.parentSpanContext?.spanId, PARENT);
    // The secret event's clean event and its exposure event carry the mask span on to the writer.
    const carried = (await readStream(bus, CLEAN)).map((m) => m.headers['traceparent']).filter((tp) => tp?.includes(TRACE));
    assert.deepEqual(carried, [`00-${TRACE}-${span?.spanContext().spanId}-01`, `00-${TRACE}-${span?.spanContext().spanId}-01`]);
  } finally {
    await bus.close();
    await metrics.close();
    await shutdownTracing();
    dir.cleanup();
  }
});
