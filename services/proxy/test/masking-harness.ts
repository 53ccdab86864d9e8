import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { Bus } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { type AuditEvent, decodeEvent, STREAMS } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { ALNUM, exposure, gen } from '@agentgate/masking/testing';
import { type CiIssuer, githubClaims, type NatsServer, startCiIssuer, startNats } from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { type Backends, closeHarness, startBackends } from './backends.js';
import { rawHttp } from './harness.js';
import { dechunk } from './hardening-harness.js';

/**
 * Harness of the response-masking tests: real nats-server, identity with a
 * CI issuer, the secret broker holding two secrets (the connections'
 * credential and another brokered one), a proxy, and an upstream that echoes
 * the credential it received in the encodings an outside tester used
 * (transfer codings, gzip files, wrapped base64, base64 in base64, JSON
 * escapes) and serves bodies the tests choose.
 */
export interface MaskingHarness {
  nats: NatsServer;
  bus: Bus;
  backends: Backends;
  upstream: EchoUpstream;
  proxy: ProxyHandle;
  /** The connections' credential (must never reach the client in any form). */
  secret: string;
  /** Another brokered secret, of no connection here (`other-token`). */
  other: string;
  token: string;
  logs: string[];
  /** Another proxy on the same bus with this extra config (connections, masking); closed by `close`. */
  extraProxy(extra?: string): Promise<ProxyHandle>;
  close(): Promise<void>;
}

export const BASIC_USER = 'x-access-token';

export interface EchoUpstream {
  readonly url: string;
  /** Paths of the requests it received, in order. */
  readonly seen: string[];
  /** Body the `/served` route answers with, and its headers. */
  serve(body: Buffer | string, headers: Record<string, string>, chunk?: number): void;
  close(): Promise<void>;
}

/** The connections every masking proxy has; the name says what is special about each. */
function connections(upstream: string): string {
  return `
connections:
  - { name: api, type: http, upstream: ${upstream}, credential: { ref: api-token, inject: bearer } }
  - { name: basic, type: http, upstream: ${upstream}, credential: { ref: api-token, inject: basic, username: ${BASIC_USER} } }
  - { name: cred, type: http, upstream: ${upstream}, credential: { ref: api-token, inject: bearer }, maskResponses: credential }
  - { name: brok, type: http, upstream: ${upstream}, credential: { ref: api-token, inject: bearer }, maskResponses: brokered }
  - { name: pass, type: http, upstream: ${upstream}, credential: { ref: api-token, inject: bearer }, uninspectable: pass }
  - { name: open, type: http, upstream: ${upstream} }
`;
}

function configText(upstream: string, issuer: string, extra = ''): string {
  return `
gateway:
  name: masking-gateway
  limits:
    requestTimeoutMs: 20000
    maxDecodedBytes: 8388608
  audit:
    ackTimeoutMs: 3000
identity:
  issuers:
    - { name: gh, issuer: ${issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
${connections(upstream)}
secrets:
  - { ref: api-token, source: env, env: MASKING_API_TOKEN }
  - { ref: other-token, source: env, env: MASKING_OTHER_TOKEN }
policy:
  default: deny
  rules:
    - { name: all-allowed, actions: ['http.*'], decision: allow }
${extra}
`;
}

function wrap(b64: string, width: number, eol: string): string {
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return lines.join(eol);
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

/** The echoing upstream: every route builds its body from the Authorization header it received. */
async function startEchoUpstream(): Promise<EchoUpstream> {
  let served: { body: Buffer; headers: Record<string, string>; chunk: number } = { body: Buffer.from('{}'), headers: {}, chunk: 0 };
  const seen: string[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    for await (const _ of req);
    seen.push(req.url ?? '');
    const auth = req.headers.authorization ?? '';
    const bare = auth.replace(/^(Bearer|Basic) /, '');
    // For Basic, the credential itself is inside the base64 value.
    const cred = auth.startsWith('Basic ')
      ? Buffer.from(bare, 'base64')
          .toString()
          .replace(/^[^:]*:/, '')
      : bare;
    const url = new URL(req.url ?? '/', 'http://x');
    const q = (k: string, d: string): string => url.searchParams.get(k) ?? d;
    const text = (body: string | Buffer, headers: Record<string, string> = {}): void => {
      res.writeHead(200, { 'content-type': 'text/plain', ...headers });
      res.end(body);
    };
    switch (url.pathname) {
      case '/te-gzip': {
        // Transfer-Encoding: gzip, chunked: node frames it chunked; the body is gzip the proxy must undo.
        res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'gzip, chunked' });
        res.end(gzipSync(`echo ${auth} again ${cred} ${'.'.repeat(Number(q('pad', '100')))} end`));
        return;
      }
      case '/te-gzip-close': {
        // Transfer-Encoding: gzip alone: the body runs to the end of the connection.
        const body = gzipSync(`echo ${auth} again ${cred} end`);
        req.socket.end(
          Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: gzip\r\nconnection: close\r\n\r\n'), body]),
        );
        return;
      }
      case '/te-unknown': {
        res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': `${q('coding', 'zstd')}, chunked` });
        res.end(q('clean', '') ? 'opaque bytes without anything secret' : `opaque ${cred}`);
        return;
      }
      case '/ce-unknown':
        return text(q('clean', '') ? 'opaque bytes' : `opaque ${cred}`, { 'content-encoding': q('coding', 'zstd') });
      case '/gzip-file': {
        // A gzip file sent as data (no Content-Encoding): the proxy may not rewrite it.
        const body = gzipSync(
          q('clean', '') ? `config without secrets ${'x'.repeat(Number(q('pad', '0')))}` : `${'#'.repeat(Number(q('pad', '0')))}\nTOKEN=${cred}\n`,
        );
        res.writeHead(200, { 'content-type': q('type', 'application/gzip'), 'content-length': String(body.length) });
        res.end(body);
        return;
      }
      case '/gzip-file-late': {
        // The credential after `mib` MiB of incompressible-ish clean data, streamed in 16 KiB writes.
        const clean = Buffer.from(Array.from({ length: Number(q('kib', '1024')) * 16 }, () => gen(ALNUM, 63)).join('\n'));
        const body = gzipSync(Buffer.concat([clean, Buffer.from(`\nTOKEN=${cred}\n`)]));
        res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(body.length) });
        for (let i = 0; i < body.length; i += 16384) {
          if (!res.write(body.subarray(i, i + 16384))) await new Promise((r) => res.once('drain', r));
        }
        res.end();
        return;
      }
      case '/wrapped': {
        const plain = `${'p'.repeat(Number(q('prefix', '0')))}${q('what', 'auth') === 'auth' ? auth : cred}\n`;
        return text(`data:\n${wrap(b64(plain), Number(q('width', '76')), q('eol', 'lf') === 'crlf' ? '\r\n' : '\n')}\n`);
      }
      case '/contents-api': {
        // GitHub's contents API: base64 with a newline every 60 columns, in JSON (so "\n" escapes).
        const file = `${'#'.repeat(Number(q('prefix', '0')))} settings\nTOKEN=${cred}\n`;
        let body = JSON.stringify({ name: '.env', encoding: 'base64', content: `${wrap(b64(file), 60, '\n')}\n` });
        if (q('php', '')) body = body.replace(/\//g, '\\/').replace(/\+/g, '\\u002B');
        return text(body, { 'content-type': 'application/json' });
      }
      case '/double': {
        // The injected header value echoed in base64 again (depth 2).
        const inner = q('whole', '') ? auth : bare;
        return text(`${q('lead', '')}${b64(`${q('prefix', '')}${inner}`)}\n`);
      }
      case '/json-escaped': {
        const esc = q('all', '')
          ? [...cred].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')
          : cred.replace(/\//g, '\\/').replace(/\+/g, q('upper', '') ? '\\u002B' : '\\u002b');
        return text(`{"echo":"${esc}"}`, { 'content-type': 'application/json' });
      }
      case '/served': {
        res.writeHead(200, served.headers);
        if (served.chunk <= 0) {
          res.end(served.body);
          return;
        }
        for (let i = 0; i < served.body.length; i += served.chunk) {
          res.write(served.body.subarray(i, i + served.chunk));
          await new Promise((r) => setTimeout(r, 1));
        }
        res.end();
        return;
      }
      default:
        return text(JSON.stringify({ ok: true, url: req.url }), { 'content-type': 'application/json' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    serve(body, headers, chunk = 0) {
      served = { body: Buffer.from(body), headers, chunk };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts nats-server, identity, the broker, the echoing upstream and one proxy. */
export async function startMasking(): Promise<MaskingHarness> {
  // Characters that URL-encoding, base64 and JSON encoders change, as in the other proxy harnesses.
  const secret = `tok_${randomBytes(18).toString('base64url')}+/=:${randomBytes(6).toString('hex')}`;
  const other = `ghp_${gen(ALNUM, 36)}`;
  const nats = await startNats();
  const upstream = await startEchoUpstream();
  const issuer: CiIssuer = await startCiIssuer({ alg: 'RS256' });
  const config = loadConfig({ text: configText(upstream.url, issuer.issuer), env: {} });
  const backends = await startBackends({ natsUrl: nats.url, name: 'proxy-masking-test' }, config, { MASKING_API_TOKEN: secret, MASKING_OTHER_TOKEN: other });
  const logs: string[] = [];
  const logger = createLogger({ name: 'proxy', level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
  const proxies: ProxyHandle[] = [];
  const extraProxy = async (extra = ''): Promise<ProxyHandle> => {
    const p = await startProxy(backends.bus, loadConfig({ text: configText(upstream.url, issuer.issuer, extra), env: {} }), logger, {
      host: '127.0.0.1',
      port: 0,
    });
    proxies.push(p);
    return p;
  };
  const proxy = await extraProxy();
  const token = await issuer.mint(githubClaims({ repository: 'acme/app' }));
  return {
    nats,
    bus: backends.bus,
    backends,
    upstream,
    proxy,
    secret,
    other,
    token,
    logs,
    extraProxy,
    close: async () => {
      await closeHarness(proxies, backends, upstream, issuer, nats);
    },
  };
}

/** A response as the client saw it: every raw byte, the head, and the body (de-chunked when chunked). */
export interface Seen {
  raw: Buffer;
  status: number;
  head: string;
  body: Buffer;
  /** False when a chunked body never got its terminating chunk (the proxy cut it). */
  complete: boolean;
}

/** `GET /<path>` through `proxy` with the CI token; every byte the client received. */
export async function get(h: MaskingHarness, path: string, proxy: ProxyHandle = h.proxy): Promise<Seen> {
  const r = await rawHttp(proxy.port, `GET ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${h.token}\r\nConnection: close\r\n\r\n`, undefined, 30_000);
  const at = r.raw.indexOf('\r\n\r\n');
  const head = r.raw.subarray(0, at).toString('latin1');
  const rest = r.raw.subarray(at + 4);
  const chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(head);
  const d = chunked ? dechunk(rest) : { data: rest, complete: true };
  return { raw: r.raw, status: r.status, head, body: d.data, complete: d.complete };
}

/**
 * Fails, naming the secret's label and the offset of the run found (never
 * the value), when any 8 bytes of a secret can be read from what the client
 * saw: the raw bytes and the de-chunked body, as they are and decoded
 * (JSON escapes, URL encoding, line wrapping, base64 twice, hex).
 */
export function assertHidden(seen: Seen, secrets: Record<string, string>, where: string): void {
  for (const [label, value] of Object.entries(secrets)) {
    for (const [part, bytes] of [
      ['raw', seen.raw],
      ['body', seen.body],
    ] as const) {
      const at = exposure(bytes, value);
      if (at !== undefined) throw new Error(`${where}: ${label} readable in the ${part} bytes (from offset ${at} of the secret)`);
    }
  }
}

/** Audit events read so far, per bus (the stream is read on from where the last call stopped). */
const readSoFar = new Map<Bus, { seq: number; events: AuditEvent[] }>();

async function storedEvents(bus: Bus): Promise<AuditEvent[]> {
  const st = readSoFar.get(bus) ?? { seq: 0, events: [] };
  readSoFar.set(bus, st);
  const info = await bus.streams.info(STREAMS.AUDIT_RAW.name);
  for (let seq = Math.max(st.seq + 1, info.firstSeq); seq <= info.lastSeq && seq > 0; seq++) {
    const m = await bus.streams.get(STREAMS.AUDIT_RAW.name, seq);
    if (m) st.events.push(decodeEvent(m.data));
    st.seq = seq;
  }
  return st.events;
}

/** Waits for the stored audit event of `path` in `phase`, newest first. */
export async function eventOf(h: MaskingHarness, path: string, phase: string, pred: (e: AuditEvent) => boolean = () => true): Promise<AuditEvent | undefined> {
  for (let i = 0; i < 150; i++) {
    const all = await storedEvents(h.bus);
    for (let j = all.length - 1; j >= 0; j--) {
      const e = all[j]!;
      if (e.url?.path === path && e.agentgate.action.phase === phase && pred(e)) return e;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

/** The JSON error of a refusal. */
export function errorOf(seen: Seen): { code: string; message: string } {
  return (JSON.parse(seen.body.toString('utf8')) as { error: { code: string; message: string } }).error;
}
