import { AggregatorRegistry } from 'prom-client';
import { processMetrics } from './metrics.js';
import type { MetricsSource } from './serve.js';

/**
 * In a node:cluster worker: answers the primary's metric requests (over the
 * cluster's IPC channel) with this process's registry. A worker serves no
 * endpoint of its own: the workers share every listening port, so a scrape
 * would reach one of them at random and its counts would not be totals.
 */
export function shareWorkerMetrics(): void {
  AggregatorRegistry.setRegistries([processMetrics().registry]);
  // prom-client adds the worker's IPC listener when the first AggregatorRegistry of a process is built.
  new AggregatorRegistry();
}

/**
 * In the primary of a node:cluster: one scrape asks every worker for its
 * registry and answers their aggregate (counters and histograms summed, by
 * prom-client's per-metric aggregators). A worker that does not answer
 * within 5 s fails the scrape (500), rather than answering partial totals.
 */
export function clusterMetricsSource(): MetricsSource {
  const aggregate = new AggregatorRegistry();
  return { contentType: aggregate.contentType, metrics: () => aggregate.clusterMetrics() };
}
