import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Bus } from '@agentgate/bus';
import { withTimeout } from '@agentgate/telemetry';
import { APPROVALS_PATH, handleApprovals } from './approvals/admin.js';
import type { WithApprovals } from './approvals/hold.js';
import { CONSOLE_PATH } from './console/app.js';
import { PROXY_ERRORS, ProxyError, type ProxyErrorCode } from './errors.js';
import { errorBody, sendError } from './lib/respond.js';
import type { AuditRecorder } from './pipeline/record.js';
import { handleRequest } from './pipeline/run.js';
import type { RefusalLog } from './pipeline/refusals.js';
import { handleUpgrade } from './pipeline/upgrade.js';
import type { ProxyRuntime } from './pipeline/runtime.js';
import { tracedRequest } from './pipeline/telemetry.js';

/** Reserved prefix: `_` can never start a connection name (names are slugs), so these paths never shadow one. */
export const ADMIN_PREFIX = '/_agentgate/';

export interface ProxyServer {
  readonly server: Server;
  /** Requests being handled right now. */
  inFlight(): number;
  /** Stops accepting requests; new ones on kept-alive sockets get 503. */
  beginShutdown(): void;
}

/**
 * The data-path HTTP server. Header size, header/request timeouts and
 * idle keep-alive come from `gateway.limits`; parse errors node catches
 * before our handler (oversized headers, CL+TE conflicts, bad chunking)
 * are answered with the same JSON errors as the pipeline's.
 *
 * No request may end the process: every handler (data path, approvals API,
 * health, parser errors, upgrades) catches its own errors and answers them
 * (sendError never throws; a socket that cannot be answered is destroyed).
 * Refusals before authentication are counted by `rt.refusals`.
 */
export function createProxyServer(rt: ProxyRuntime & WithApprovals, bus: Bus, extra: { console?: ConsoleHandler } = {}): ProxyServer {
  const limits = rt.config.gateway.limits;
  const router = new Router(rt, bus, extra.console);
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(limits.requestTimeoutMs, 60_000),
      keepAliveTimeout: limits.idleTimeoutMs,
      // Repeated headers stay separate (node drops repeats of Authorization); we check what we need.
      joinDuplicateHeaders: false,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      // Client idle (guardClientIdle): here rather than in a second 'request' listener, one emit fewer per request.
      res.on('timeout', onResponseTimeout);
      try {
        router.route(req, res);
      } catch (err) {
        router.failed(req, res, 'router')(err);
      }
    },
  );
  guardClientIdle(server, limits.idleTimeoutMs);
  guardSockets(server, rt);
  return {
    server,
    inFlight: () => router.inFlight,
    beginShutdown: () => {
      router.shuttingDown = true;
    },
  };
}

/** The approvers' console handler (console/app.ts). */
type ConsoleHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Sends each request where it belongs: the approvals API, the console, the
 * health endpoints, or the data path; counts the data path's requests in
 * flight and refuses new ones once shutting down.
 */
export class Router {
  inFlight = 0;
  shuttingDown = false;
  readonly #rt: ProxyRuntime & WithApprovals;
  readonly #bus: Bus;
  readonly #console: ConsoleHandler | undefined;

  constructor(rt: ProxyRuntime & WithApprovals, bus: Bus, console: ConsoleHandler | undefined) {
    this.#rt = rt;
    this.#bus = bus;
    this.#console = console;
  }

  route(req: IncomingMessage, res: ServerResponse): void {
    const rt = this.#rt;
    const adminPath = req.url?.split('?')[0];
    if (adminPath === APPROVALS_PATH || adminPath?.startsWith(`${APPROVALS_PATH}/`)) {
      handleApprovals(req, res, { auth: rt.auth, approvals: rt.approvals, log: rt.log, refusals: rt.refusals }).catch(this.failed(req, res, 'approvals'));
      return;
    }
    // The approvers' console (express, src/console/) when configured; the data path never goes there.
    if (this.#console && (adminPath === CONSOLE_PATH || adminPath?.startsWith(`${CONSOLE_PATH}/`))) {
      this.#console(req, res);
      return;
    }
    if (req.url?.startsWith(ADMIN_PREFIX)) {
      admin(req, res, this.#bus, rt.refusals, rt.recorder).catch(this.failed(req, res, 'admin'));
      return;
    }
    if (this.shuttingDown) {
      res.shouldKeepAlive = false;
      sendError(req, res, new ProxyError('ERR_SHUTTING_DOWN'), { connection: undefined, requestId: '-' });
      return;
    }
    this.inFlight++;
    res.on('close', () => this.inFlight--);
    tracedRequest(req, res, () => handleRequest(rt, req, res)).catch(this.failed(req, res, 'data path'));
  }

  /** Last line of defence of every handler: log, answer 500 if nothing was sent yet, else cut the connection. */
  failed(req: IncomingMessage, res: ServerResponse, where: string): (err: unknown) => void {
    return (err) => {
      this.#rt.log.error({ err, where }, 'unhandled error in a request handler');
      sendError(req, res, new ProxyError('ERR_INTERNAL'), { connection: undefined, requestId: '-' });
    };
  }
}

/**
 * What reaches the server outside a parsed request: parser errors are
 * answered with the same JSON errors as the pipeline's, WebSocket upgrades
 * go through the pipeline (pipeline/upgrade.ts), CONNECT tunnels are refused.
 */
function guardSockets(server: Server, rt: ProxyRuntime): void {
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    try {
      const code = clientErrorCode(err.code);
      rt.log.info({ code, parserCode: err.code }, 'request rejected by the HTTP parser');
      // A client that simply went away (reset, closed mid-request) is not a refusal worth recording.
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') rt.refusals?.note({ ip: remoteIp(socket), code, detail: err.code });
      rawError(socket, code);
    } catch {
      socket.destroy();
    }
  });
  // CONNECT tunnels would bypass classification and masking (upgrades no adapter relays are refused by handleUpgrade).
  const refuseTunnel = (_req: IncomingMessage, socket: Duplex): void => {
    try {
      rt.refusals?.note({ ip: remoteIp(socket), code: 'ERR_UPGRADE_UNSUPPORTED', detail: 'CONNECT' });
      rawError(socket, 'ERR_UPGRADE_UNSUPPORTED');
    } catch {
      socket.destroy();
    }
  };
  // WebSocket upgrades of adapters that declare them go through the pipeline (pipeline/upgrade.ts); the rest get 501.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void handleUpgrade(rt, req, socket, head).catch(() => socket.destroy()));
  server.on('connect', refuseTunnel);
}

/**
 * Client idle (`gateway.limits.idleTimeoutMs`). Node's socket timeout fires
 * after that long without traffic either way; the socket is cut only when
 * the silence is the client's: request bytes still to come, or response
 * bytes it does not read. While the gateway itself works or waits for the
 * upstream (a git mirror update, an approval, a slow upstream), the request
 * stays open: those waits have their own bounds (mirrorTimeoutMs,
 * approvals.timeoutMs, upstreamIdleTimeoutMs). Idle keep-alive sockets, with
 * no request in flight, are closed by node as before.
 */
function guardClientIdle(server: Server, idleMs: number): void {
  server.timeout = idleMs;
}

/** A response's 'timeout' (see guardClientIdle): its listener also tells node not to destroy the socket itself. */
function onResponseTimeout(this: ServerResponse): void {
  const req = this.req;
  if (!req.complete || this.writableNeedDrain) req.socket.destroy();
}

function remoteIp(socket: Duplex): string | undefined {
  return (socket as Duplex & { remoteAddress?: string }).remoteAddress;
}

function clientErrorCode(parserCode: string | undefined): ProxyErrorCode {
  if (parserCode === 'HPE_HEADER_OVERFLOW') return 'ERR_HEADERS_TOO_LARGE';
  if (parserCode === 'ERR_HTTP_REQUEST_TIMEOUT' || parserCode === 'ERR_HTTP_HEADERS_TIMEOUT') return 'ERR_REQUEST_TIMEOUT';
  return 'ERR_BAD_REQUEST';
}

/** Writes a complete HTTP/1.1 error response on a socket node's parser gave up on, then closes it. Nothing in it comes from the request. */
function rawError(socket: Duplex, code: ProxyErrorCode): void {
  socket.on('error', () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const err = new ProxyError(code);
  const body = errorBody(err, { connection: undefined, requestId: '-' });
  socket.end(
    `HTTP/1.1 ${err.status} ${reasonPhrase(err.status)}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
  );
}

function reasonPhrase(status: number): string {
  return { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large', 501: 'Not Implemented' }[status] ?? 'Error';
}

/** `/_agentgate/healthz` (the process answers) and `/_agentgate/readyz` (bus connected, the audit stream reachable and not full; details: fill levels, spool). */
async function admin(req: IncomingMessage, res: ServerResponse, bus: Bus, refusals: RefusalLog | undefined, recorder: AuditRecorder): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  const send = (status: number, body: object): void => {
    // A probe of /_agentgate/ beyond health and approvals is a refusal before authentication like any other.
    if (status === 404 || status === 405) refusals?.note({ ip: req.socket.remoteAddress, code: status === 404 ? 'ERR_NOT_FOUND' : 'ERR_METHOD_NOT_ALLOWED' });
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(405, { error: { code: 'ERR_METHOD_NOT_ALLOWED', status: 405, message: PROXY_ERRORS.ERR_METHOD_NOT_ALLOWED.text } });
    return;
  }
  if (path === `${ADMIN_PREFIX}healthz`) {
    send(200, { status: 'ok' });
    return;
  }
  if (path === `${ADMIN_PREFIX}readyz`) {
    const status = bus.status();
    if (status !== 'connected') {
      send(503, { status: 'unavailable', bus: status });
      return;
    }
    try {
      // Fill levels of the audit streams and the outcome spool: what to alert on before requests are refused.
      const audit = await withTimeout(recorder.health(), 1000);
      send(audit.ready ? 200 : 503, { status: audit.ready ? 'ready' : 'unavailable', bus: status, audit });
    } catch {
      send(503, { status: 'unavailable', bus: status, auditStream: 'unreachable' });
    }
    return;
  }
  send(404, { error: { code: 'ERR_NOT_FOUND', status: 404, message: PROXY_ERRORS.ERR_NOT_FOUND.text } });
}
