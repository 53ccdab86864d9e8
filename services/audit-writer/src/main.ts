/**
 * Process entry of the audit writer: `npm start -w @agentgate/audit-writer`.
 * Reads the agentgate configuration, connects to the bus and indexes the clean
 * audit stream until SIGTERM/SIGINT, then finishes the batch in flight and stops.
 */
import { createBus, onShutdown } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { startTelemetry } from '@agentgate/telemetry';
import { startAuditWriter } from './writer.js';
import { SERVICE_INFO } from './service-info.js';

const config = loadConfig();
const logger = createLogger({ name: 'audit-writer', level: config.log.level, format: config.log.format });
// Before the service starts, so its first spans and counts are not missed; off unless `telemetry` is configured.
const telemetry = await startTelemetry(config.telemetry, 'audit-writer');
if (telemetry.metrics) logger.info({ url: telemetry.metrics.url }, 'metrics served');
const bus = await createBus({
  natsUrl: config.bus.natsUrl,
  nats: config.bus.nats,
  dataDir: config.bus.dataDir,
  replicas: config.bus.streams.replicas,
  name: `agentgate-audit-writer-${config.audit.partition}`,
});
// No endpoint of its own: registered so `nats micro ping|info|stats` finds every instance (bus.drain stops it).
await bus.addService(SERVICE_INFO);
const writer = await startAuditWriter(bus, config, logger);

// A fatal stop of the loop (another writer owns this chain partition) must end the process, so the
// orchestrator sees it and restarts or alerts, instead of a live process that indexes nothing.
void writer.closed.then(async (err) => {
  if (!err) return;
  logger.fatal({ code: (err as { code?: string }).code }, 'audit writer stopped on a fatal error; exiting');
  await bus.drain().catch(() => {});
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  process.exit(1);
});

onShutdown(async (signal) => {
  logger.info({ signal }, 'audit writer stopping');
  await writer.stop();
  await bus.drain();
  await telemetry.stop();
  // pino writes asynchronously; flush before the process exits so the last lines are not lost.
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
});
