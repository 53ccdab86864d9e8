export { AgentgateMetrics, processMetrics } from './metrics.js';
export { handleMetrics, METRICS_PATH, serveMetrics } from './serve.js';
export {
  activeTraceIds,
  annotate,
  batchSpans,
  carriedTrace,
  continueTrace,
  endSpan,
  initTracing,
  messageSpan,
  injectTraceContext,
  shutdownTracing,
  stage,
  stageSync,
  startStage,
  traceHeaders,
  tracingEnabled,
} from './tracing.js';
export { startTelemetry } from './start.js';
export { clusterMetricsSource, shareWorkerMetrics } from './cluster.js';
export { metricValue } from './sample.js';
export { withTimeout } from './lib/timeout.js';
/** For tests: spans kept in memory (`initTracing({ exporter })`). */
export { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';

export type { WatchedConsumer } from './metrics.js';
export type { MetricsServer, MetricsSource } from './serve.js';
export type { BatchSpans, HeaderCarrier, Stage, TracingOptions } from './tracing.js';
export type { ClusterRole, Telemetry, TelemetryConfigInput } from './start.js';
export type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
