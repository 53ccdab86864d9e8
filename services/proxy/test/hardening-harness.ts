import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { Bus } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { type CiIssuer, githubClaims, type NatsServer, startCiIssuer, startNats } from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { closeHarness, startBackends } from './backends.js';

/**
 * Harness of the hardening tests: the same real pieces as test/harness.ts
 * (nats-server, identity with a CI issuer, the secret broker), an upstream
 * with the hostile routes these tests need (decompression bombs, a slow
 * stream, a small body written byte by byte), and proxies whose
 * `gateway.limits` and `bus.streams.maxBytes` each test chooses.
 */
export interface HardeningHarness {
  nats: NatsServer;
  bus: Bus;
  upstream: HostileUpstream;
  proxy: ProxyHandle;
  /** The brokered credential (never to be seen by the client). */
  secret: string;
  token: string;
  logs: string[];
  /** Another proxy on the same bus with other limits (closed by `close`). */
  extraProxy(opts: HardeningOptions): Promise<ProxyHandle>;
  /** The configuration text of a proxy with `opts`, for a proxy process (src/main.ts) started by a test. */
  configText(opts: HardeningOptions): string;
  close(): Promise<void>;
}

export interface HardeningOptions {
  /** Extra `gateway.limits` keys (numbers). */
  limits?: Record<string, number>;
  /** `bus.streams.maxBytes` of the audit stream this proxy declares. */
  streamMaxBytes?: number;
}

export interface HostileUpstream {
  readonly url: string;
  readonly seen: string[];
  close(): Promise<void>;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function configText(upstream: string, issuer: string, o: HardeningOptions): string {
  const limits = Object.entries(o.limits ?? {})
    .map(([k, v]) => `    ${k}: ${v}\n`)
    .join('');
  return `
gateway:
  name: hardening-gateway
  limits:
    requestTimeoutMs: 10000
${limits}  audit:
    ackTimeoutMs: 1500
${o.streamMaxBytes !== undefined ? `bus:\n  streams:\n    maxBytes: ${o.streamMaxBytes}\n` : ''}
identity:
  issuers:
    - name: gh
      issuer: ${issuer}
      audiences: [agentgate]
      profile: github-actions
      algorithms: [RS256]
connections:
  - name: api
    type: http
    upstream: ${upstream}
    credential: { ref: api-token, inject: bearer }
    # These tests time slow text streams; masking with every detector would hold up to 12 KiB back (README "What is masked").
    maskResponses: credential
secrets:
  - { ref: api-token, source: env, env: HARDENING_API_TOKEN }
policy:
  default: deny
  rules:
    - name: http-allowed
      actions: ['http.*']
      decision: allow
`;
}

const COMPRESS: Record<string, (b: Buffer) => Buffer> = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };

/** An upstream built to hurt: bombs, a slow stream and byte-by-byte small bodies, all echoing the credential. */
async function startHostileUpstream(): Promise<HostileUpstream> {
  const seen: string[] = [];
  const bombs = new Map<string, Buffer>();
  const server: Server = createServer(async (req, res) => {
    for await (const _ of req);
    seen.push(req.url ?? '');
    const bare = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const url = new URL(req.url ?? '/', 'http://x');
    const q = (k: string, d: string) => url.searchParams.get(k) ?? d;
    if (url.pathname === '/bomb') {
      // N MiB of one byte: compresses about 1000:1 with gzip, far more with brotli.
      const key = `${q('enc', 'gzip')}:${q('mib', '64')}`;
      let body = bombs.get(key);
      if (!body) {
        const make = COMPRESS[q('enc', 'gzip')] ?? gzipSync;
        body = make(Buffer.alloc(Number(q('mib', '64')) * 1024 * 1024, 'a'));
        bombs.set(key, body);
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': q('enc', 'gzip'), 'content-length': body.length });
      res.end(body);
    } else if (url.pathname === '/gzip-echo') {
      const body = gzipSync(Buffer.from(`before ${bare} after ${'y'.repeat(100_000)} end`));
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': body.length });
      res.end(body);
    } else if (url.pathname === '/corrupt-gzip') {
      const body = Buffer.concat([gzipSync(Buffer.from('x')).subarray(0, 10), randomBytes(200)]);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': body.length });
      res.end(body);
    } else if (url.pathname === '/slow-stream') {
      // ~1 s of body in 20 pieces: what a shutdown must let finish.
      res.writeHead(200, { 'content-type': 'text/plain' });
      const pieces = Number(q('pieces', '20'));
      for (let i = 0; i < pieces; i++) {
        res.write(`piece ${String(i).padStart(3, '0')} ${bare}\n`);
        await wait(Number(q('ms', '1000')) / pieces);
      }
      res.end('done\n');
    } else if (url.pathname === '/small-split') {
      // A small declared-length body with the credential in several forms, written a byte or two at a time.
      const text = `a ${bare} b ${encodeURIComponent(bare)} c ${Buffer.from(bare).toString('base64')} d ${bare}${bare} e`;
      const body = Buffer.from(text);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      for (let i = 0; i < body.length; i += 2) {
        res.write(body.subarray(i, i + 2));
        if (i % 16 === 0) await wait(1);
      }
      res.end();
    } else if (url.pathname === '/sized') {
      // `total` bytes of filler with the bare credential at each offset in `at`, sent in `chunk`-byte writes.
      const body = Buffer.alloc(Number(q('total', '1024')), '.');
      for (const at of q('at', '0').split(',')) body.write(bare, Number(at), 'latin1');
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      const chunk = Number(q('chunk', '16384'));
      for (let i = 0; i < body.length; i += chunk) {
        res.write(body.subarray(i, i + chunk));
        await wait(1);
      }
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, url: req.url }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts nats-server, identity, the broker, the hostile upstream and one proxy with `opts`. */
export async function startHardening(opts: HardeningOptions = {}): Promise<HardeningHarness> {
  // Characters that URL-encoding and base64 change, so every encoded form differs from the raw value.
  const secret = `tok_${randomBytes(18).toString('base64url')}+/=:${randomBytes(6).toString('hex')}`;
  const nats = await startNats();
  const upstream = await startHostileUpstream();
  const issuer: CiIssuer = await startCiIssuer({ alg: 'RS256' });
  const base = loadConfig({ text: configText(upstream.url, issuer.issuer, {}), env: {} });
  const backends = await startBackends({ natsUrl: nats.url, name: 'proxy-hardening-test' }, base, { HARDENING_API_TOKEN: secret });
  const { bus } = backends;
  const logs: string[] = [];
  const logger = createLogger({ name: 'proxy', level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
  const proxies: ProxyHandle[] = [];
  const extraProxy = async (o: HardeningOptions): Promise<ProxyHandle> => {
    const config = loadConfig({ text: configText(upstream.url, issuer.issuer, o), env: {} });
    const p = await startProxy(bus, config, logger, { host: '127.0.0.1', port: 0 });
    proxies.push(p);
    return p;
  };
  const proxy = await extraProxy(opts);
  const token = await issuer.mint(githubClaims({ repository: 'acme/app' }));
  return {
    nats,
    bus,
    upstream,
    proxy,
    secret,
    token,
    logs,
    extraProxy,
    configText: (o) => configText(upstream.url, issuer.issuer, o),
    close: async () => {
      await closeHarness(proxies, backends, upstream, issuer, nats);
    },
  };
}

/** The head of a `GET <path>` with the CI token and Connection: close, for rawHttp. */
export function getHead(token: string, path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
}

/** Decodes an HTTP/1.1 chunked body; `complete` is false when the terminating zero-size chunk never came. */
export function dechunk(body: Buffer): { data: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) return { data: Buffer.concat(parts), complete: false };
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) return { data: Buffer.concat(parts), complete: false };
    if (size === 0) return { data: Buffer.concat(parts), complete: true };
    const start = eol + 2;
    if (start + size > body.length) {
      parts.push(body.subarray(start));
      return { data: Buffer.concat(parts), complete: false };
    }
    parts.push(body.subarray(start, start + size));
    at = start + size + 2;
  }
}
