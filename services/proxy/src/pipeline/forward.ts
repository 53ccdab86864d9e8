import type { Readable } from 'node:stream';
import type { Connection, UpstreamTls } from '../adapters/types.js';
import { type Dispatcher, errors as undiciErrors, Pool } from 'undici';
import { ProxyError } from '../errors.js';
import { injectTraceContext, stage, tracingEnabled } from '@agentgate/telemetry';

export interface ForwardRequest {
  method: string;
  /** Path and query on the upstream (already joined with the base URL's path). */
  path: string;
  headers: Record<string, string | string[]>;
  body: Readable | Buffer | null;
  /** Time allowed for the upstream to send headers, and between body chunks. */
  timeoutMs: number;
  /** Time allowed between body chunks when it differs from `timeoutMs` (0: none, for watches). */
  bodyTimeoutMs?: number;
  signal: AbortSignal;
}

/**
 * Connection types whose upstream connections stay open after a HEAD.
 * undici closes a connection after every HEAD by default (in case a
 * broken server sends a body anyway, which would then be read as the next
 * answer), so the next request pays a new connection. Registries
 * (Distribution, Harbor… Go's net/http never writes a body on HEAD) are
 * asked a HEAD per blob and per tag on every push, each followed at once by
 * the next request of the client's serial sequence: there the reconnection
 * was a good part of what the gateway added to a push.
 */
const KEEP_ALIVE_AFTER_HEAD = new Set<Connection['type']>(['registry']);

/**
 * Sends requests upstream over one keep-alive pool per connection (undici:
 * streams both ways, honours backpressure, never follows redirects, so a
 * 3xx is passed back, masked, instead of being chased with the credential).
 */
export class Forwarder {
  readonly #pools = new Map<string, { key: string; pool: Pool }>();

  /**
   * The connection's pool. With TLS settings (a CA bundle, a client
   * certificate) the pool is keyed by them: a rotated client certificate
   * gets a new pool, and the old one closes once its requests are done.
   */
  #pool(conn: Connection, tls: UpstreamTls | undefined): Pool {
    const key = tls?.key ?? '';
    const cur = this.#pools.get(conn.name);
    if (cur && cur.key === key) return cur.pool;
    if (cur) void cur.pool.close().catch(() => {});
    const connect = tls && {
      ...(tls.ca !== undefined && { ca: tls.ca }),
      ...(tls.cert !== undefined && { cert: tls.cert }),
      ...(tls.privateKey !== undefined && { key: tls.privateKey }),
      ...(tls.servername !== undefined && { servername: tls.servername }),
      rejectUnauthorized: true,
    };
    const pool = new Pool(new URL(conn.upstream).origin, {
      connections: 128,
      connectTimeout: 10_000,
      keepAliveTimeout: 30_000,
      ...(connect && { connect }),
    });
    this.#pools.set(conn.name, { key, pool });
    return pool;
  }

  /** Sends the request upstream (span `agentgate.forward` when tracing, its `traceparent` sent along). */
  forward(conn: Connection, req: ForwardRequest, tls?: UpstreamTls): Promise<Dispatcher.ResponseData> {
    if (!tracingEnabled()) return this.#forward(conn, req, tls);
    return stage('forward', () => {
      // The upstream's spans continue this trace; without tracing the client's own traceparent passes unchanged.
      injectTraceContext(req.headers);
      return this.#forward(conn, req, tls);
    });
  }

  async #forward(conn: Connection, req: ForwardRequest, tls?: UpstreamTls): Promise<Dispatcher.ResponseData> {
    try {
      return await this.#pool(conn, tls).request({
        method: req.method as Dispatcher.HttpMethod,
        path: req.path,
        headers: req.headers,
        body: req.body,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.bodyTimeoutMs ?? req.timeoutMs,
        signal: req.signal,
        ...(req.method === 'HEAD' && KEEP_ALIVE_AFTER_HEAD.has(conn.type) && { reset: false }),
      });
    } catch (err) {
      throw upstreamError(conn.name, err);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#pools.values()].map((p) => p.pool.close()));
    this.#pools.clear();
  }
}

/**
 * Maps a transport failure to the client's error. The message names the
 * connection only: raw undici/socket texts can hold addresses or, for a
 * misbehaving upstream, echoes of what was sent.
 */
export function upstreamError(connection: string, err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 4; depth++) {
    if (cur instanceof ProxyError) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return new ProxyError('ERR_UPSTREAM_TIMEOUT', `connection "${connection}": the upstream did not answer in time`, { cause: err });
  }
  if (err instanceof undiciErrors.RequestContentLengthMismatchError) {
    return new ProxyError('ERR_BAD_REQUEST', 'request body length does not match Content-Length', { cause: err });
  }
  if (tlsFailure(err)) {
    return new ProxyError('ERR_UPSTREAM_TLS', `connection "${connection}": the upstream's TLS certificate could not be verified`, { cause: err });
  }
  if (err instanceof undiciErrors.RequestAbortedError) {
    return new ProxyError('ERR_BAD_REQUEST', 'the request was aborted', { cause: err });
  }
  return new ProxyError('ERR_UPSTREAM_UNREACHABLE', `connection "${connection}": the upstream is unreachable`, { cause: err });
}

/** OpenSSL/node codes of a certificate that does not verify (unknown CA, self-signed, wrong name, expired…). */
const TLS_CODES = /^(UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|CERT_|ERR_TLS_CERT_|HOSTNAME_MISMATCH|ERR_SSL_)/;

/** True when a transport error (or one of its causes) is a TLS verification failure. */
export function tlsFailure(err: unknown): boolean {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 4; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_CODES.test(code)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}
