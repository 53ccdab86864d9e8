/**
 * Process entry of the identity service: `npm start -w @agentgate/identity`.
 * Reads the agentgate configuration, connects to the bus and answers
 * `identity.verify` until SIGTERM/SIGINT, then drains.
 */
import { createBus, onShutdown } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { startTelemetry } from '@agentgate/telemetry';
import { startIdentityService } from './service.js';

const config = loadConfig();
const logger = createLogger({ name: 'identity', level: config.log.level, format: config.log.format });
// Before the service starts, so its first spans and counts are not missed; off unless `telemetry` is configured.
const telemetry = await startTelemetry(config.telemetry, 'identity');
if (telemetry.metrics) logger.info({ url: telemetry.metrics.url }, 'metrics served');
const bus = await createBus({
  natsUrl: config.bus.natsUrl,
  nats: config.bus.nats,
  dataDir: config.bus.dataDir,
  replicas: config.bus.streams.replicas,
  name: 'agentgate-identity',
});
const svc = await startIdentityService(bus, config.identity, logger);
if (config.identity.issuers.length === 0) logger.warn({}, 'no issuer configured: every token will be refused');

onShutdown(async (signal) => {
  logger.info({ signal }, 'identity service stopping');
  await svc.stop();
  // Drain lets requests in flight get their answer before the connection closes.
  await bus.drain();
  logger.info({ signal }, 'identity service stopped');
  // pino writes asynchronously; flush before the process exits so the last lines are not lost.
  await telemetry.stop();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
});
