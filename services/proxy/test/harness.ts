import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Bus } from '@agentgate/bus';
import { type Config, loadConfig } from '@agentgate/config';
import { type AuditEvent, decodeEvent, STREAMS } from '@agentgate/events';
import type { IdentityService } from '@agentgate/identity';
import { createLogger } from '@agentgate/log';
import type { SecretBroker } from '@agentgate/secret-broker';
import { type CiIssuer, githubClaims, type NatsServer, startCiIssuer, startNats } from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { startUpstream, type Upstream } from './upstream.js';
import { closeHarness, startBackends } from './backends.js';

/** Everything a proxy test needs, all real: nats-server, identity with a CI issuer, the secret broker, an upstream. */
export interface Harness {
  nats: NatsServer;
  bus: Bus;
  issuer: CiIssuer;
  identity: IdentityService;
  broker: SecretBroker;
  upstream: Upstream;
  proxy: ProxyHandle;
  config: Config;
  /** The YAML the config was loaded from (to start the same proxy as a process of its own). */
  configText: string;
  /** The brokered credential (never to be seen by the client). */
  secret: string;
  /** A valid CI token. */
  token: string;
  /** Every log line the proxy wrote. */
  logs: string[];
  close(): Promise<void>;
}

export const BASIC_USER = 'x-access-token';

function configText(upstream: string, deadPort: number, issuer: string, extraGateway = ''): string {
  return `
gateway:
  name: test-gateway
  limits:
    maxHeaderBytes: 8192
    maxBodyBytes: 1048576
    requestTimeoutMs: 10000
  audit:
    ackTimeoutMs: 1500
${extraGateway}
identity:
  issuers:
    - name: gh
      issuer: ${issuer}
      audiences: [agentgate]
      profile: github-actions
      algorithms: [RS256]
  groups:
    - name: acme-ci
      when: { repository_owner: acme }
connections:
  - name: api
    type: http
    upstream: ${upstream}/base
    credential: { ref: api-token, inject: bearer }
  - name: basicapi
    type: http
    upstream: ${upstream}/base
    credential: { ref: api-token, inject: basic, username: ${BASIC_USER} }
  - name: small
    type: http
    upstream: ${upstream}/base
    credential: { ref: api-token, inject: bearer }
    limits: { maxBodyBytes: 1000, timeoutMs: 500 }
  - name: dead
    type: http
    upstream: http://127.0.0.1:${deadPort}
    credential: { ref: api-token, inject: bearer }
  - name: nocred
    type: http
    upstream: ${upstream}/base
    credential: { ref: missing-token, inject: bearer }
secrets:
  - { ref: api-token, source: env, env: PROXY_TEST_API_TOKEN }
  - { ref: missing-token, source: env, env: PROXY_TEST_UNSET_TOKEN }
policy:
  default: deny
  rules:
    - name: no-delete
      actions: ['http.delete']
      decision: deny
      reason: deleting through the gateway is not allowed
    - name: admin-review
      actions: ['http.*']
      when: attrs.path.startsWith('/admin')
      decision: review
    - name: only-acme
      actions: ['http.*']
      when: "!('acme-ci' in principal.groups)"
      decision: deny
      reason: only acme pipelines may call APIs
    - name: http-allowed
      actions: ['http.*']
      decision: allow
`;
}

/** Starts the whole path. */
export async function startHarness(opts: { extraGateway?: string } = {}): Promise<Harness> {
  // Characters that URL-encoding and base64 change, so every encoded form is distinct from the raw value.
  const secret = `tok_${randomBytes(18).toString('base64url')}+/=:${randomBytes(6).toString('hex')}`;
  const env = { PROXY_TEST_API_TOKEN: secret };
  const nats = await startNats();
  const upstream = await startUpstream();
  const issuer = await startCiIssuer({ alg: 'RS256' });
  // A port nothing listens on: take one from a closed upstream.
  const dead = await startUpstream();
  await dead.close();
  const text = configText(upstream.url, dead.port, issuer.issuer, opts.extraGateway);
  const config = loadConfig({ text, env: {} });
  const backends = await startBackends({ natsUrl: nats.url, name: 'proxy-test' }, config, env);
  const { bus, identity, broker } = backends;
  const logs: string[] = [];
  const logger = createLogger({ name: 'proxy', level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
  const proxy = await startProxy(bus, config, logger, { host: '127.0.0.1', port: 0 });
  const token = await issuer.mint(githubClaims({ repository: 'acme/app' }));
  return {
    nats,
    bus,
    issuer,
    identity,
    broker,
    upstream,
    proxy,
    config,
    configText: text,
    secret,
    token,
    logs,
    close: async () => {
      await closeHarness([proxy], backends, upstream, issuer, nats);
    },
  };
}

/** Every form of the secret that must never reach the client. */
export function forbiddenForms(secret: string): string[] {
  return [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    Buffer.from(`${BASIC_USER}:${secret}`).toString('base64'),
    encodeURIComponent(secret),
    encodeURIComponent(secret).toLowerCase(),
    Buffer.from(secret).toString('hex'),
  ];
}

/** Fails naming the form (not the value) when any forbidden form occurs in the bytes. */
export function assertNoSecret(bytes: Buffer | string, secret: string, where: string): void {
  const text = Buffer.isBuffer(bytes) ? bytes.toString('latin1') : bytes;
  forbiddenForms(secret).forEach((form, i) => {
    if (text.includes(form)) throw new Error(`${where}: credential form #${i} reached the client`);
  });
}

/** A raw HTTP/1.1 exchange: sends `head` (+ body) on a fresh socket and returns every byte received until close. */
export function rawHttp(port: number, head: string, body?: Buffer | string, timeoutMs = 10_000): Promise<{ raw: Buffer; status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('raw request timed out'));
    }, timeoutMs);
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const text = raw.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ raw, status: m ? Number(m[1]) : 0, text });
    });
    sock.write(head);
    if (body !== undefined) sock.write(body);
  });
}

/** `GET <path>` with the token, Connection: close, as raw bytes. */
export function rawGet(h: Harness, path: string, extraHeaders = '', auth = `Bearer ${h.token}`): Promise<{ raw: Buffer; status: number; text: string }> {
  return rawHttp(h.proxy.port, `GET ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: ${auth}\r\n${extraHeaders}Connection: close\r\n\r\n`);
}

/** The JSON error body of a raw response. */
export function errorOf(text: string): { code: string; message: string; status: number } {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return (JSON.parse(body) as { error: { code: string; message: string; status: number } }).error;
}

/** Every event stored in the raw audit stream. */
export async function auditEvents(bus: Bus): Promise<AuditEvent[]> {
  const info = await bus.streams.info(STREAMS.AUDIT_RAW.name);
  const out: AuditEvent[] = [];
  for (let seq = info.firstSeq; seq <= info.lastSeq && seq > 0; seq++) {
    const m = await bus.streams.get(STREAMS.AUDIT_RAW.name, seq);
    if (m) out.push(decodeEvent(m.data));
  }
  return out;
}
