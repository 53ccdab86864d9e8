import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bus } from '@agentgate/bus';
import { type Config, loadConfig } from '@agentgate/config';
import type { AuditEvent } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { type CiIssuer, githubClaims, startCiIssuer, type TempDir, tempDir } from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { closeHarness, startBackends } from './backends.js';
import { auditEvents } from './harness.js';

/** One request as the upstream saw it. */
export interface Hit {
  method: string;
  /** The request target exactly as received (raw path and query). */
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

/** An upstream that counts every request it gets and answers each route like the protocol behind it. */
export interface CountingUpstream {
  readonly url: string;
  readonly hits: Hit[];
  close(): Promise<void>;
}

async function startCountingUpstream(): Promise<CountingUpstream> {
  const hits: Hit[] = [];
  const server: Server = createServer(async (req, res) => {
    let bodyBytes = 0;
    try {
      for await (const c of req) bodyBytes += (c as Buffer).length;
    } catch {
      // a forwarded body cut by the gateway (limit tripped): still a hit
    }
    hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes });
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.startsWith('/v1/')) {
      const body = JSON.stringify({
        id: 'c1',
        object: 'chat.completion',
        model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (path.startsWith('/gitbase/')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such repository');
      return;
    }
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyBytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The gateway in one process on the in-process bus, with real identity (a
 * CI issuer), the secret broker and a counting upstream behind one
 * connection of each adapter type (http, git, llm), plus `relaxed` (matrix
 * parameters and two stripped headers allowed) and `plain` (no credential).
 * Refusals before authentication are aggregated per second.
 */
export interface EdgeHarness {
  bus: Bus;
  issuer: CiIssuer;
  upstream: CountingUpstream;
  proxy: ProxyHandle;
  config: Config;
  /** The brokered credential (never to be seen by the client). */
  secret: string;
  /** A valid CI token of acme/app. */
  token: string;
  logs: string[];
  events(): Promise<AuditEvent[]>;
  /**
   * Another proxy on the same bus whose refusal window is `refusalWindowMs`; closing it records the
   * refusals it counted (closed by `close` too).
   */
  extraProxy(refusalWindowMs: number): Promise<ProxyHandle>;
  close(): Promise<void>;
}

function configText(upstream: string, issuer: string, dataDir: string, refusalWindowMs = 1000): string {
  return `
gateway:
  name: edge-gateway
  limits: { maxHeaderBytes: 8192, maxBodyBytes: 1048576, requestTimeoutMs: 10000, idleTimeoutMs: 5000 }
  audit: { ackTimeoutMs: 1500, refusals: { windowMs: ${refusalWindowMs}, maxSources: 100 } }
bus: { dataDir: ${dataDir} }
identity:
  issuers:
    - { name: gh, issuer: ${issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
connections:
  - name: api
    type: http
    upstream: ${upstream}/base
    credential: { ref: api-token, inject: bearer }
  - name: relaxed
    type: http
    upstream: ${upstream}/base
    credential: { ref: api-token, inject: bearer }
    requests: { allowMatrixParams: true, forwardHeaders: [x-api-key, via] }
  - name: plain
    type: http
    upstream: ${upstream}/plain
  - name: git
    type: git
    upstream: ${upstream}/gitbase
    credential: { ref: api-token, inject: basic, username: x-access-token }
  - name: llm
    type: llm
    upstream: ${upstream}/v1
    credential: { ref: api-token, inject: bearer }
    options: { provider: openai }
secrets:
  - { ref: api-token, source: env, env: EDGE_API_TOKEN }
policy:
  default: deny
  rules:
    - name: no-force
      actions: ['http.*']
      when: "queryAny(attrs.query, 'force', 'true')"
      decision: deny
      reason: forced writes are not allowed
    - name: no-method-param
      actions: ['http.*']
      when: "queryHas(attrs.query, '_method')"
      decision: deny
      reason: a method override in the query is not allowed
    - name: no-private
      actions: ['http.*']
      when: "attrs.path.startsWith('/private')"
      decision: deny
      reason: private paths are off limits
    - { name: http-allowed, actions: ['http.*'], decision: allow }
    - { name: git-allowed, actions: ['git.*'], decision: allow }
    - { name: llm-allowed, actions: ['llm.*'], decision: allow }
`;
}

export async function startEdgeHarness(): Promise<EdgeHarness> {
  const secret = `tok_${randomBytes(18).toString('base64url')}+/=:${randomBytes(6).toString('hex')}`;
  const dir: TempDir = tempDir('edge-proxy');
  const upstream = await startCountingUpstream();
  const issuer = await startCiIssuer({ alg: 'RS256' });
  const config = loadConfig({ text: configText(upstream.url, issuer.issuer, dir.path), env: {} });
  const backends = await startBackends({ dataDir: `${dir.path}/bus`, name: 'edge-test' }, config, { EDGE_API_TOKEN: secret });
  const { bus } = backends;
  const logs: string[] = [];
  const logger = createLogger({ name: 'proxy', level: 'info', destination: { write: (s: string) => void logs.push(s) } });
  const proxy = await startProxy(bus, config, logger, { host: '127.0.0.1', port: 0 });
  const extras: ProxyHandle[] = [];
  const token = await issuer.mint(githubClaims({ repository: 'acme/app' }));
  return {
    bus,
    issuer,
    upstream,
    proxy,
    config,
    secret,
    token,
    logs,
    events: () => auditEvents(bus),
    extraProxy: async (refusalWindowMs) => {
      const c = loadConfig({ text: configText(upstream.url, issuer.issuer, dir.path, refusalWindowMs), env: {} });
      const p = await startProxy(bus, c, logger, { host: '127.0.0.1', port: 0 });
      extras.push(p);
      return p;
    },
    close: async () => {
      await closeHarness([...extras, proxy], backends, upstream, issuer);
      dir.cleanup();
    },
  };
}

/** Errors that escaped a handler (unhandled rejections, uncaught exceptions) while watched. */
export interface EscapeWatch {
  /** What escaped, in order; a test asserts it stays empty. */
  readonly escaped: unknown[];
  /** Starts listening on the process for escaped errors. */
  start(): void;
  /** Stops listening (the test runner's own handlers apply again). */
  stop(): void;
}

/**
 * Collects errors that escape a handler. The test runner keeps the process alive on them, so
 * without this an escaped error would not fail a test that must prove none can end the process.
 */
export function watchEscapes(): EscapeWatch {
  const escaped: unknown[] = [];
  const onEscape = (err: unknown) => void escaped.push(err);
  return {
    escaped,
    start: () => {
      process.on('unhandledRejection', onEscape);
      process.on('uncaughtException', onEscape);
    },
    stop: () => {
      process.off('unhandledRejection', onEscape);
      process.off('uncaughtException', onEscape);
    },
  };
}
