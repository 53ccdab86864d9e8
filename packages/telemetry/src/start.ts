import { clusterMetricsSource, shareWorkerMetrics } from './cluster.js';
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

/** Where the process stands in a node:cluster (the proxy's `gateway.workers`); unset: a process of its own. */
export type ClusterRole = 'primary' | 'worker';

/**
 * What a process entry point (a service's `main.ts`, `agentgate start`)
 * calls once: serves the process's metrics on `telemetry.metrics.listen`
 * and turns tracing on when `telemetry.tracing.otlpEndpoint` is set.
 * In a cluster the primary serves the workers' aggregate on that address
 * and traces nothing (it handles no request); a worker serves no endpoint
 * and hands its registry to the primary on request.
 */
export async function startTelemetry(config: TelemetryConfigInput, serviceName: string, opts: { cluster?: ClusterRole } = {}): Promise<Telemetry> {
  const tracing =
    opts.cluster === 'primary'
      ? false
      : initTracing({
          serviceName: config.tracing.serviceName ?? serviceName,
          otlpEndpoint: config.tracing.otlpEndpoint,
          sampleRatio: config.tracing.sampleRatio,
        });
  const listen = config.metrics.listen;
  let metrics: MetricsServer | undefined;
  if (listen && opts.cluster === 'worker') shareWorkerMetrics();
  else if (listen) metrics = await serveMetrics(opts.cluster === 'primary' ? clusterMetricsSource() : processMetrics().registry, listen);
  return {
    metrics,
    tracing,
    async stop() {
      await metrics?.close();
      await shutdownTracing();
    },
  };
}
