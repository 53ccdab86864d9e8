/**
 * Process entry of the masking service: `npm start -w @agentgate/masking-service`.
 * Reads the agentgate configuration, connects to the bus, moves events from
 * AUDIT_RAW to AUDIT_CLEAN until SIGTERM/SIGINT, then finishes the batch in
 * flight and drains.
 */
import { createBus, onShutdown } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { startTelemetry } from '@agentgate/telemetry';
import { startMaskingService } from './service.js';
import { SERVICE_INFO } from './service-info.js';

const config = loadConfig();
const logger = createLogger({ name: 'masking', level: config.log.level, format: config.log.format });
// Before the service starts, so its first spans and counts are not missed; off unless `telemetry` is configured.
const telemetry = await startTelemetry(config.telemetry, 'masking');
if (telemetry.metrics) logger.info({ url: telemetry.metrics.url }, 'metrics served');
const bus = await createBus({
  natsUrl: config.bus.natsUrl,
  nats: config.bus.nats,
  dataDir: config.bus.dataDir,
  replicas: config.bus.streams.replicas,
  name: 'agentgate-masking',
});
// No endpoint of its own: registered so `nats micro ping|info|stats` finds every instance (bus.drain stops it).
await bus.addService(SERVICE_INFO);
if (bus.transport === 'inproc') {
  // Same store directory as another process would corrupt nothing only if nobody else writes it: say so.
  logger.warn({}, "no bus.natsUrl: the in-process bus reaches no other process; set bus.natsUrl to mask the proxy's events");
}
const service = await startMaskingService(bus, config, logger);

onShutdown(async (signal) => {
  logger.info({ signal }, 'masking service stopping');
  await service.stop();
  await bus.drain();
  logger.info({ signal }, 'masking service stopped');
  await telemetry.stop();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
});
