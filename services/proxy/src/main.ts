/**
 * Process entry of the proxy: `npm start -w @agentgate/proxy`. Reads the
 * configuration, connects to the bus, serves until SIGTERM/SIGINT, then
 * stops accepting, lets requests in flight finish and drains the bus.
 * With `gateway.workers` above 1 this process is the primary of that many
 * workers, each of which runs the rest of this file (see workers.ts).
 */
import cluster from 'node:cluster';
import { createBus, onShutdown } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { startTelemetry } from '@agentgate/telemetry';
import { tuneHeapGrowth } from './lib/heap-growth.js';
import { startProxy } from './start-proxy.js';
import { SERVICE_INFO } from './service-info.js';
import { startWorkerPool, WORKER_ENV } from './workers.js';

// Large bodies (registry blobs) would otherwise run back-to-back mark-compacts: see lib/heap-growth.ts.
const heapGrowingPercent = tuneHeapGrowth();
const config = loadConfig();
const worker = cluster.isPrimary ? undefined : Number(process.env[WORKER_ENV]);
const processLogger = createLogger({ name: 'proxy', level: config.log.level, format: config.log.format });
// A worker's lines name it (0 … workers-1): which one served a request, which one died.
const logger = worker === undefined ? processLogger : processLogger.child({ worker });
if (cluster.isPrimary && config.gateway.workers > 1) {
  // The primary serves nothing and connects to nothing: it forks the workers, replaces one that dies, and drains them all.
  // /metrics of the primary answers the workers' aggregate: the workers share every port, so one of them would answer alone.
  const telemetry = await startTelemetry(config.telemetry, 'proxy', { cluster: 'primary' });
  if (telemetry.metrics) logger.info({ url: telemetry.metrics.url }, 'metrics of all workers served');
  const pool = startWorkerPool({ workers: config.gateway.workers, stopTimeoutMs: config.gateway.limits.shutdownTimeoutMs + 10_000, log: logger });
  const stop = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'proxy workers stopping');
    void pool.stop();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const code = await pool.stopped;
  await telemetry.stop();
  logger.info({ code }, 'proxy workers stopped');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  process.exit(code);
}
logger.debug({ heapGrowingPercent: heapGrowingPercent ?? 'set by the operator' }, 'V8 heap growing factor');
// Before the service starts, so its first spans and counts are not missed; off unless `telemetry` is configured.
const telemetry = await startTelemetry(config.telemetry, 'proxy', worker === undefined ? {} : { cluster: 'worker' });
if (telemetry.metrics) logger.info({ url: telemetry.metrics.url }, 'metrics served');
// Every handler catches and answers its own errors; a rejection reaching here is a bug, so it is logged loudly.
// This is no substitute for that handling: node's default would end the process for every client in flight.
process.on('unhandledRejection', (reason: unknown) => {
  logger.fatal({ err: reason }, 'unhandled promise rejection (a bug: every handler must catch its errors)');
});
const bus = await createBus({
  natsUrl: config.bus.natsUrl,
  nats: config.bus.nats,
  dataDir: config.bus.dataDir,
  replicas: config.bus.streams.replicas,
  name: 'agentgate-proxy',
});
// No endpoint of its own: registered so `nats micro ping|info|stats` finds every instance (bus.drain stops it).
await bus.addService(SERVICE_INFO);
const proxy = await startProxy(bus, config, logger);

onShutdown(
  async (signal) => {
    logger.info({ signal }, 'proxy stopping');
    await proxy.close();
    // Outcome records still in flight are published before the connection closes.
    await bus.drain();
    await telemetry.stop();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  },
  { timeoutMs: config.gateway.limits.shutdownTimeoutMs + 5000 },
);
