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
import { createProxyServer } from './server.js';
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
  const connections = new Map(config.connections.map((c) => [c.name, c]));
  for (const c of config.connections) {
    const adapter = adapterFor(c.type);
    if (!adapter) log.warn({ connection: c.name, type: c.type }, 'no adapter for this connection type: its requests are refused');
    // An unreadable CA bundle and the like stop start-up, naming the connection, instead of failing every request.
    adapter?.checkConnection?.(c);
  }
  const policy = opts.policy ?? compilePolicy(config.policy, { connections: [...connections.keys()] });
  // Compiles but cannot mean what it says (a kind no adapter produces, protectedRefs no rule reads): `config check` refuses it, start-up warns.
  for (const issue of lintPolicy(config, ACTION_CATALOGUE)) log.warn({ path: issue.path }, `configuration: ${issue.path}: ${issue.message}`);
  const leases = opts.leases ?? createLeaseClient(bus, { timeoutMs: config.gateway.auth.verifyTimeoutMs });
  const recorder = new AuditRecorder(
    bus,
    { timeoutMs: config.gateway.audit.ackTimeoutMs, stream: config.bus.streams, spool: { dir: join(config.bus.dataDir, 'spool'), maxBytes: config.bus.spool.maxBytes } },
    log,
  );
  await recorder.start();
  // Responses are masked per connection (maskResponses): detectors and every brokered secret by default for
  // http, llm and mcp, the leased credential only for binary or content-addressed data (git, registry).
  const brokered = busBrokeredSource(bus, config);
  const forwarder = new Forwarder();
  const observerName = config.gateway.name ?? hostname();
  const refusals = new RefusalLog(recorder, { ...config.gateway.audit.refusals, observerName }, log);
  // The approvals bucket is shared by every proxy on the bus: an approval given through any instance releases the holder.
  const secrets = ownSecrets(config);
  // The console's base URL, as the browser reaches it (the callback is under it): the link a held client and the webhooks get.
  const consoleUrl = config.console ? new URL('/_agentgate/console', config.console.redirectUrl).href : undefined;
  const notifier = new HoldNotifier(config.approvals.notify, {
    secrets,
    link: (id) => approvalLink({ ...(consoleUrl && { consoleUrl }) }, id),
    log,
  });
  const approvals: Approvals = {
    store: await ApprovalStore.open(bus),
    config: config.approvals,
    masker: createMasker(),
    recorder,
    observerName,
    policyVersion: policyVersion(config.policy),
    spoolDir: join(resolve(config.bus.dataDir), 'approvals-spool'),
    ...(consoleUrl && { consoleUrl }),
    ...(notifier.enabled && { notifier }),
  };
  const rt: ProxyRuntime & WithApprovals = {
    config,
    connections,
    auth: new Authenticator(bus, { timeoutMs: config.gateway.auth.verifyTimeoutMs, cacheTtlMs: config.gateway.auth.cacheTtlMs, cacheMax: 10_000 }),
    policy,
    leases,
    recorder,
    forwarder,
    log,
    observerName,
    refusals,
    responseMasker: responseMaskers(config, brokered),
    services: { ...createAdapterServices(bus, config, brokered), log, policy, mcpSessions: kvMcpSessionStore(bus) },
    approvals,
  };
  const consoleHandler = config.console
    ? await createConsole({ config: config.console, approvals, secrets, trail: trailReader(config), log: log.child({ component: 'console' }) })
    : undefined;
  const ps = createProxyServer(rt, bus, { ...(consoleHandler && { console: consoleHandler }) });
  const host = opts.host ?? config.gateway.listen.host;
  await new Promise<void>((resolve, reject) => {
    ps.server.once('error', reject);
    ps.server.listen(opts.port ?? config.gateway.listen.port, host, () => {
      ps.server.off('error', reject);
      resolve();
    });
  });
  const port = (ps.server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, connections: [...connections.keys()] }, 'proxy listening');

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    ps.beginShutdown();
    const closed = new Promise<void>((resolve) => ps.server.close(() => resolve()));
    ps.server.closeIdleConnections();
    const deadline = Date.now() + config.gateway.limits.shutdownTimeoutMs;
    while (ps.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ps.server.closeAllConnections();
    await closed;
    await forwarder.close();
    // Refusals counted so far are recorded before the recorder settles.
    refusals.close();
    await recorder.settle();
    // Deliveries still retrying get a moment; shutdown is not held hostage by a dead receiver.
    await notifier.settle(2000);
    log.info({}, 'proxy stopped');
  };
  return {
    url,
    port,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}
