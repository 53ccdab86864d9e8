import { type Bus, type CreateBusOptions, createBus } from '@agentgate/bus';
import type { Config } from '@agentgate/config';
import { type IdentityService, startIdentityService } from '@agentgate/identity';
import { type SecretBroker, startSecretBroker } from '@agentgate/secret-broker';

/** The services a proxy calls over the bus, started for a test or a benchmark. */
export interface Backends {
  bus: Bus;
  identity: IdentityService;
  broker: SecretBroker;
  /** Stops identity and the broker, then closes the bus. */
  stop(): Promise<void>;
}

/** Creates the bus (NATS when `natsUrl`, else in-process) and starts identity and the secret broker on it. */
export async function startBackends(busOpts: CreateBusOptions, config: Config, env: Record<string, string>): Promise<Backends> {
  const bus = await createBus(busOpts);
  const identity = await startIdentityService(bus, config.identity);
  const broker = await startSecretBroker(bus, config, undefined, { env });
  return {
    bus,
    identity,
    broker,
    async stop() {
      await identity.stop();
      await broker.stop();
      await bus.close();
    },
  };
}

/** Anything a test harness closes. */
interface Closable {
  close(): Promise<unknown>;
}

/**
 * Closes a harness's proxies first (each finishes its requests and records them on the bus),
 * then stops the backends, then closes the rest in the order given (upstreams, issuer, NATS).
 */
export async function closeHarness(proxies: Closable[], backends: Backends, ...rest: Closable[]): Promise<void> {
  for (const p of proxies) await p.close();
  await backends.stop();
  for (const r of rest) await r.close();
}
