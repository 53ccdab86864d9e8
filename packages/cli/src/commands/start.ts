import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Bus, createBus, onShutdown } from '@agentgate/bus';
import { type Config, loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { startTelemetry } from '@agentgate/telemetry';
import { parseCommandArgs } from '../lib/args.js';
import type { ExitCode, Output } from '../lib/output.js';

/** A started part of the gateway; stopped in reverse order of start. */
export interface Component {
  name: string;
  stop(): Promise<void>;
}

export interface Gateway {
  config: Config;
  bus: Bus;
  components: Component[];
  /** URL of the proxy, when it runs in this process. */
  url: string | undefined;
  /** URL of the process's `/metrics`, when `telemetry.metrics.listen` is set. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

/** The sample configuration shipped at the repository root, used when no configuration file exists. */
export function sampleConfigPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../../../agentgate.example.yaml');
}

/** Which configuration `start` uses: AGENTGATE_CONFIG, else ./agentgate.yaml, else the shipped sample. */
export function resolveStartConfig(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AGENTGATE_CONFIG) return env.AGENTGATE_CONFIG;
  const local = join(process.cwd(), 'agentgate.yaml');
  return existsSync(local) ? local : sampleConfigPath();
}

/**
 * Starts the five services in one process on one bus (in-process unless
 * NATS_URL is set). In production each service is its own process
 * (`node services/<name>/dist/main.js`, as docker-compose.yml and the Helm chart
 * run them); here they share the process, not the code paths.
 */
export async function startGateway(config: Config, opts: { only?: string[] } = {}): Promise<Gateway> {
  const logger = createLogger({ name: 'agentgate', level: config.log.level, format: config.log.format });
  // One registry and one /metrics endpoint for the five services of this process; tracing on when configured.
  const telemetry = await startTelemetry(config.telemetry, 'agentgate');
  if (telemetry.metrics) logger.info({ url: telemetry.metrics.url }, 'metrics served');
  const bus = await createBus({
    natsUrl: config.bus.natsUrl,
    nats: config.bus.nats,
    dataDir: config.bus.dataDir,
    replicas: config.bus.streams.replicas,
    name: 'agentgate',
  });
  const components: Component[] = [];
  const want = (name: string): boolean => !opts.only || opts.only.includes(name);
  let url: string | undefined;
  try {
    // Start order follows the data path backwards: consumers first, the proxy (which takes traffic) last.
    if (want('audit-writer')) {
      const { SERVICE_INFO, startAuditWriter } = await import('@agentgate/audit-writer');
      const w = await startAuditWriter(bus, config, logger.child({ service: 'audit-writer' }));
      const svc = await bus.addService(SERVICE_INFO);
      components.push({ name: 'audit-writer', stop: () => Promise.all([svc.stop(), w.stop()]).then(() => {}) });
    }
    if (want('identity')) {
      const { startIdentityService } = await import('@agentgate/identity');
      const svc = await startIdentityService(bus, config.identity, logger.child({ service: 'identity' }));
      components.push({ name: 'identity', stop: () => svc.stop() });
    }
    if (want('secret-broker')) {
      const { startSecretBroker } = await import('@agentgate/secret-broker');
      const b = await startSecretBroker(bus, config, logger.child({ service: 'secret-broker' }));
      components.push({ name: 'secret-broker', stop: () => b.stop() });
    }
    if (want('masking')) {
      const { SERVICE_INFO, startMaskingService } = await import('@agentgate/masking-service');
      const m = await startMaskingService(bus, config, logger.child({ service: 'masking' }));
      const svc = await bus.addService(SERVICE_INFO);
      components.push({ name: 'masking', stop: () => Promise.all([svc.stop(), m.stop()]).then(() => {}) });
    }
    if (want('proxy')) {
      const { SERVICE_INFO, startProxy } = await import('@agentgate/proxy');
      const p = await startProxy(bus, config, logger.child({ service: 'proxy' }));
      url = p.url;
      const svc = await bus.addService(SERVICE_INFO);
      components.push({ name: 'proxy', stop: () => Promise.all([svc.stop(), p.close()]).then(() => {}) });
    }
  } catch (err) {
    for (const c of components.reverse()) await c.stop().catch(() => {});
    await bus.drain().catch(() => {});
    await telemetry.stop();
    throw err;
  }
  return {
    config,
    bus,
    components,
    url,
    metricsUrl: telemetry.metrics?.url,
    async stop() {
      // Reverse order: the proxy stops taking requests first, the writers drain last.
      for (const c of [...components].reverse()) await c.stop();
      await bus.drain();
      await telemetry.stop();
      await new Promise<void>((r) => logger.flush(() => r()));
    },
  };
}

/** `agentgate start [--config FILE]`: the one-process gateway, until SIGTERM/SIGINT. */
export async function start(args: string[], io: Output): Promise<ExitCode> {
  const { values } = parseCommandArgs('start', args, { config: { type: 'string', short: 'c' } });
  // The one-process gateway carries the proxy's large bodies too: the same V8 heap growing factor as services/proxy (lib/heap-growth.ts).
  (await import('@agentgate/proxy')).tuneHeapGrowth();
  const file = values.config ?? resolveStartConfig();
  const config = loadConfig({ path: file });
  // Every request handler catches and answers its own errors; one reaching here is a bug, logged loudly.
  // It is no substitute for that handling (node's default would end the process for every client).
  const fatal = createLogger({ name: 'agentgate', level: config.log.level, format: config.log.format });
  process.on('unhandledRejection', (reason: unknown) => {
    fatal.fatal({ err: reason }, 'unhandled promise rejection (a bug: every handler must catch its errors)');
  });
  const gw = await startGateway(config);
  io.out(`agentgate started (${config.bus.natsUrl ? 'NATS' : 'in-process bus'}, config ${file})`);
  io.out(`services: ${gw.components.map((c) => c.name).join(', ')}`);
  if (gw.url) io.out(`proxy listening on ${gw.url}`);
  if (gw.metricsUrl) io.out(`metrics on ${gw.metricsUrl}`);
  // The proxy may drain for shutdownTimeoutMs, then the writers finish their batch (≤ 10 s): do not force the exit before.
  onShutdown(
    async () => {
      await gw.stop();
    },
    { timeoutMs: config.gateway.limits.shutdownTimeoutMs + 20_000 },
  );
  // The process lives as long as its servers; an in-process bus alone keeps nothing open.
  setInterval(() => {}, 1 << 30);
  return new Promise<ExitCode>(() => {});
}
