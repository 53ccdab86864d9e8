import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { type Config, loadConfig } from '@agentgate/config';
import { type Gateway, startGateway } from '@agentgate/cli';
import { freePort } from '@agentgate/testkit';

/** The plain upstream every proxy forwards to: 200 with the path it saw. */
export async function startEchoUpstream(): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    req.resume();
    const body = JSON.stringify({ path: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** What differs between the instances of one scaled-out deployment. */
export interface InstanceOptions {
  natsUrl: string;
  /** The OpenSearch nodes the writers are given (a sink of several nodes). */
  opensearchUrls: string[];
  issuer: string;
  upstream: string;
  /** Shared by every writer: checkpoints of all partitions are signed with one key. */
  keyPath: string;
  dataDir: string;
  port: number;
  partition?: string;
  /** Redelivery delay of the masking and writer consumers (default 30 s, the configuration's default). */
  ackWaitMs?: number;
}

/** One instance's configuration: the same file for every service, only port, data dir and partition differ. */
export function clusterConfig(o: InstanceOptions): Config {
  const text = `
gateway:
  name: cluster-e2e
  listen: { host: 127.0.0.1, port: ${o.port} }
  limits: { requestTimeoutMs: 15000 }
  audit: { ackTimeoutMs: 2000 }
bus:
  natsUrl: ${o.natsUrl}
  dataDir: ${o.dataDir}
  streams: { maxBytes: 268435456, replicas: 3 }
log: { level: fatal }
identity:
  issuers:
    - { name: ci, issuer: ${o.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
  groups:
    - name: acme-ci
      when: { repository_owner: acme }
connections:
  - name: api
    type: http
    upstream: ${o.upstream}/base
audit:
  sinks: [{ type: opensearch, url: [${o.opensearchUrls.join(', ')}] }]
  partition: ${o.partition ?? 'writer-0'}
  ackWaitMs: ${o.ackWaitMs ?? 30_000}
  batch: { maxWaitMs: 100 }
  checkpoint: { idleMs: 500, keyPath: ${o.keyPath} }
masking:
  service: { ackWaitMs: ${o.ackWaitMs ?? 30_000}, retryDelayMs: 200 }
policy:
  default: deny
  rules:
    - { name: acme-only, actions: ['*'], when: "!('acme-ci' in principal.groups)", decision: deny, reason: only acme pipelines }
    - { name: api-ok, actions: ['http.*'], decision: allow }
`;
  return loadConfig({ text, env: {} });
}

/** A service instance started in this process through the same code path as `agentgate start` (its own NATS connection). */
export interface Instance {
  name: string;
  gateway: Gateway;
  config: Config;
}

/** Starts `only` (one service) with its own bus connection and data dir. */
export async function startInstance(name: string, only: string, base: Omit<InstanceOptions, 'port' | 'dataDir'>, root: string): Promise<Instance> {
  const port = await freePort();
  const config = clusterConfig({ ...base, port, dataDir: join(root, `${name}-${randomBytes(3).toString('hex')}`) });
  // A service whose start timed out while the cluster was still forming its raft groups is restarted, as
  // its orchestrator (restart policy) would; a start that keeps failing fails the test.
  for (let attempt = 1; ; attempt++) {
    try {
      const gateway = await startGateway(config, { only: [only] });
      return { name, gateway, config };
    } catch (err) {
      if (attempt >= 3 || (err as { code?: string }).code !== 'ERR_BUS_TIMEOUT') throw err;
      console.log(`# ${name} start attempt ${attempt} failed (${(err as Error).message}); started again`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Result of one request through a proxy. */
export interface Sent {
  marker: string;
  proxy: number;
  status: number;
  body: string;
}

/** GET `/api/item/<marker>` through `proxyUrl`; a network error is status 0 with its message. */
export async function sendOne(proxyUrl: string, proxy: number, marker: string, token: string): Promise<Sent> {
  try {
    const res = await fetch(`${proxyUrl}/api/item/${marker}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(20_000) });
    return { marker, proxy, status: res.status, body: await res.text() };
  } catch (err) {
    return { marker, proxy, status: 0, body: String(err) };
  }
}
