/**
 * Process entry of the secret broker: `npm start -w @agentgate/secret-broker`.
 * Reads the agentgate configuration, connects to the bus and answers
 * `secrets.lease` / `secrets.masklist` until SIGTERM/SIGINT, then drains.
 */
import { createBus, onShutdown } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { startTelemetry } from '@agentgate/telemetry';
import { startSecretBroker } from './broker.js';

const config = loadConfig();
const logger = createLogger({ name: 'secret-broker', level: config.log.level, format: config.log.format });
// Before the service starts, so its first spans and counts are not missed; off unless `telemetry` is configured.
const telemetry = await startTelemetry(config.telemetry, 'secret-broker');
if (telemetry.metrics) logger.info({ url: telemetry.metrics.url }, 'metrics served');
const bus = await createBus({
  natsUrl: config.bus.natsUrl,
  nats: config.bus.nats,
  dataDir: config.bus.dataDir,
  replicas: config.bus.streams.replicas,
  name: 'agentgate-secret-broker',
});
const broker = await startSecretBroker(bus, config, logger);
// The in-process bus holds no socket open, so nothing would keep this process alive; and it serves
// only this process (the one-process runner calls startSecretBroker itself). Say so and stay up.
const keepAlive = bus.transport === 'inproc' ? setInterval(() => {}, 1 << 30) : undefined;
if (keepAlive) logger.warn({}, 'no bus.natsUrl: the in-process bus reaches no other process; set bus.natsUrl to serve the proxy');

onShutdown(async (signal) => {
  logger.info({ signal }, 'secret broker stopping');
  clearInterval(keepAlive);
  await broker.stop();
  // Drain lets leases in flight get their answer before the connection closes.
  await bus.drain();
  logger.info({ signal }, 'secret broker stopped');
  await telemetry.stop();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
});
