import { processMetrics } from './metrics.js';
import { type MetricsServer, serveMetrics } from './serve.js';
import { initTracing, shutdownTracing } from './tracing.js';

/** The `telemetry` section of the configuration, as this package reads it. */
export interface TelemetryConfigInput {
  readonly metrics: { readonly listen?: { readonly host: string; readonly port: number } | undefined };
  readonly tracing: { readonly otlpEndpoint?: string | undefined; readonly sampleRatio: number; readonly serviceName?: string | undefined };
}

/** Telemetry of one process, started by its entry point. */
export interface Telemetry {
  /** The `/metrics` endpoint, when `telemetry.metrics.listen` is set. */
  readonly metrics: MetricsServer | undefined;
  readonly tracing: boolean;
  /** Closes the endpoint and flushes the spans still buffered. */
  stop(): Promise<void>;
}

/**
 * What a process entry point (a service's `main.ts`, `agentgate start`)
 * calls once: serves the process's metrics on `telemetry.metrics.listen`
 * and turns tracing on when `telemetry.tracing.otlpEndpoint` is set.
 */
export async function startTelemetry(config: TelemetryConfigInput, serviceName: string): Promise<Telemetry> {
  const tracing = initTracing({
    serviceName: config.tracing.serviceName ?? serviceName,
    otlpEndpoint: config.tracing.otlpEndpoint,
    sampleRatio: config.tracing.sampleRatio,
  });
  const listen = config.metrics.listen;
  const metrics = listen ? await serveMetrics(processMetrics().registry, listen) : undefined;
  return {
    metrics,
    tracing,
    async stop() {
      await metrics?.close();
      await shutdownTracing();
    },
  };
}
