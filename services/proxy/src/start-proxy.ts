import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Bus } from '@agentgate/bus';
import type { Config } from '@agentgate/config';
import type { Logger } from '@agentgate/log';
import { createMasker } from '@agentgate/masking';
import { compilePolicy, lintPolicy } from '@agentgate/policy';
import { createLeaseClient } from '@agentgate/secret-broker';
import { ApprovalStore } from './approvals/store.js';
import { type Approvals, approvalLink, type WithApprovals } from './approvals/hold.js';
import { HoldNotifier } from './approvals/notify.js';
import { ownSecrets } from './approvals/own-secrets.js';
import { policyVersion } from './approvals/policy-version.js';
import { ACTION_CATALOGUE } from './adapters/catalogue.js';
import { adapterFor } from './adapters/index.js';
import { createAdapterServices } from './adapters/llm/services.js';
import { kvMcpSessionStore } from './adapters/mcp/session-store.js';
import { busBrokeredSource } from './lib/brokered-secrets.js';
import type { LeasePort, PolicyPort } from './lib/ports.js';
import { Authenticator } from './pipeline/authenticate.js';
import { Forwarder } from './pipeline/forward.js';
import { AuditRecorder } from './pipeline/record.js';
import { RefusalLog } from './pipeline/refusals.js';
import { responseMaskers } from './pipeline/response-masker.js';
import type { ProxyRuntime } from './pipeline/runtime.js';
import { createProxyServer, type ProxyServer } from './server.js';
import { createConsole } from './console/app.js';
import { trailReader } from './console/trail.js';

/** Overrides for tests and the one-process runner. */
export interface StartProxyOptions {
  /** Listen here instead of `gateway.listen` (port 0: any free port). */
  host?: string;
  port?: number;
  /** Use this policy instead of compiling `config.policy`. */
  policy?: PolicyPort;
  /** Use this lease client instead of the secret broker's. */
  leases?: LeasePort;
}

/** A running proxy. */
export interface ProxyHandle {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets requests in flight finish (up to `gateway.limits.shutdownTimeoutMs`), then closes. */
  close(): Promise<void>;
}

/**
 * Starts the gateway proxy on the bus: declares the raw audit stream (so
 * start-up fails when the trail cannot be written) and opens the outcome
 * spool under `bus.dataDir` (replaying what a crash left), compiles policy once
 * (a bad rule stops start-up), and serves `/<connection>/<path>`.
 */
export async function startProxy(bus: Bus, config: Config, logger: Logger, opts: StartProxyOptions = {}): Promise<ProxyHandle> {
  const log = logger.child({ component: 'proxy' });
  const connections = checkConnections(config, log);
  const policy = opts.policy ?? compilePolicy(config.policy, { connections: [...connections.keys()] });
  // Compiles but cannot mean what it says (a kind no adapter produces, protectedRefs no rule reads): `config check` refuses it, start-up warns.
  for (const issue of lintPolicy(config, ACTION_CATALOGUE)) log.warn({ path: issue.path }, `configuration: ${issue.path}: ${issue.message}`);
  const recorder = new AuditRecorder(
    bus,
    {
      timeoutMs: config.gateway.audit.ackTimeoutMs,
      stream: config.bus.streams,
      spool: { dir: join(config.bus.dataDir, 'spool'), maxBytes: config.bus.spool.maxBytes },
    },
    log,
  );
  await recorder.start();
  const observerName = config.gateway.name ?? hostname();
  const secrets = ownSecrets(config);
  const { approvals, notifier } = await openApprovals(bus, config, { recorder, observerName, secrets, log });
  const rt = runtimeOf(bus, config, { connections, policy, leases: opts.leases, recorder, observerName, approvals, log });
  const consoleHandler = config.console
    ? await createConsole({ config: config.console, approvals, secrets, trail: trailReader(config), log: log.child({ component: 'console' }) })
    : undefined;
  const ps = createProxyServer(rt, bus, { ...(consoleHandler && { console: consoleHandler }) });
  const host = opts.host ?? config.gateway.listen.host;
  const port = await listen(ps, host, opts.port ?? config.gateway.listen.port);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, connections: [...connections.keys()] }, 'proxy listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close: () => {
      closing ??= shutdown(ps, config, { forwarder: rt.forwarder, refusals: rt.refusals, recorder, notifier, log });
      return closing;
    },
  };
}

/** The connections by name; an unreadable CA bundle and the like stop start-up, naming the connection, instead of failing every request. */
function checkConnections(config: Config, log: Logger): Map<string, Config['connections'][number]> {
  const connections = new Map(config.connections.map((c) => [c.name, c]));
  for (const c of config.connections) {
    const adapter = adapterFor(c.type);
    if (!adapter) log.warn({ connection: c.name, type: c.type }, 'no adapter for this connection type: its requests are refused');
    adapter?.checkConnection?.(c);
  }
  return connections;
}

/**
 * Approvals: the bucket shared by every proxy on the bus (an approval given
 * through any instance releases the holder), and the webhook notifier with
 * the console's link.
 */
async function openApprovals(
  bus: Bus,
  config: Config,
  x: { recorder: AuditRecorder; observerName: string; secrets: ReturnType<typeof ownSecrets>; log: Logger },
): Promise<{ approvals: Approvals; notifier: HoldNotifier }> {
  // The console's base URL, as the browser reaches it (the callback is under it): the link a held client and the webhooks get.
  const consoleUrl = config.console ? new URL('/_agentgate/console', config.console.redirectUrl).href : undefined;
  const notifier = new HoldNotifier(config.approvals.notify, {
    secrets: x.secrets,
    link: (id) => approvalLink({ ...(consoleUrl && { consoleUrl }) }, id),
    log: x.log,
  });
  const approvals: Approvals = {
    store: await ApprovalStore.open(bus),
    config: config.approvals,
    masker: createMasker(),
    recorder: x.recorder,
    observerName: x.observerName,
    policyVersion: policyVersion(config.policy),
    spoolDir: join(resolve(config.bus.dataDir), 'approvals-spool'),
    ...(consoleUrl && { consoleUrl }),
    ...(notifier.enabled && { notifier }),
  };
  return { approvals, notifier };
}

/** What every request reads: connections, policy, leases, the recorder, the forwarder, maskers and the adapters' services. */
function runtimeOf(
  bus: Bus,
  config: Config,
  x: {
    connections: Map<string, Config['connections'][number]>;
    policy: PolicyPort;
    leases: LeasePort | undefined;
    recorder: AuditRecorder;
    observerName: string;
    approvals: Approvals;
    log: Logger;
  },
): ProxyRuntime & WithApprovals & { forwarder: Forwarder; refusals: RefusalLog } {
  const { log, recorder, observerName, policy } = x;
  // Responses are masked per connection (maskResponses): detectors and every brokered secret by default for
  // http, llm and mcp, the leased credential only for binary or content-addressed data (git, registry).
  const brokered = busBrokeredSource(bus, config);
  return {
    config,
    connections: x.connections,
    auth: new Authenticator(bus, { timeoutMs: config.gateway.auth.verifyTimeoutMs, cacheTtlMs: config.gateway.auth.cacheTtlMs, cacheMax: 10_000 }),
    policy,
    leases: x.leases ?? createLeaseClient(bus, { timeoutMs: config.gateway.auth.verifyTimeoutMs }),
    recorder,
    forwarder: new Forwarder(),
    log,
    observerName,
    refusals: new RefusalLog(recorder, { ...config.gateway.audit.refusals, observerName }, log),
    responseMasker: responseMaskers(config, brokered),
    services: { ...createAdapterServices(bus, config, brokered), log, policy, mcpSessions: kvMcpSessionStore(bus) },
    approvals: x.approvals,
  };
}

/** Listens on host:port (0: any free port); resolves with the port bound. */
async function listen(ps: ProxyServer, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    ps.server.once('error', reject);
    ps.server.listen(port, host, () => {
      ps.server.off('error', reject);
      resolve();
    });
  });
  return (ps.server.address() as AddressInfo).port;
}

/**
 * Stops accepting, lets requests in flight finish (up to
 * `gateway.limits.shutdownTimeoutMs`), closes the rest, then settles what
 * is still to be recorded and delivered.
 */
async function shutdown(
  ps: ProxyServer,
  config: Config,
  x: { forwarder: Forwarder; refusals: RefusalLog; recorder: AuditRecorder; notifier: HoldNotifier; log: Logger },
): Promise<void> {
  ps.beginShutdown();
  const closed = new Promise<void>((resolve) => ps.server.close(() => resolve()));
  ps.server.closeIdleConnections();
  const deadline = Date.now() + config.gateway.limits.shutdownTimeoutMs;
  while (ps.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  ps.server.closeAllConnections();
  await closed;
  await x.forwarder.close();
  // Refusals counted so far are recorded before the recorder settles.
  x.refusals.close();
  await x.recorder.settle();
  // Deliveries still retrying get a moment; shutdown is not held hostage by a dead receiver.
  await x.notifier.settle(2000);
  x.log.info({}, 'proxy stopped');
}
