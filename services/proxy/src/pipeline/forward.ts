import type { Readable } from 'node:stream';
import type { Connection } from '../adapters/types.js';
import { type Dispatcher, errors as undiciErrors, Pool } from 'undici';
import { ProxyError } from '../errors.js';

export interface ForwardRequest {
  method: string;
  /** Path and query on the upstream (already joined with the base URL's path). */
  path: string;
  headers: Record<string, string | string[]>;
  body: Readable | Buffer | null;
  /** Time allowed for the upstream to send headers, and between body chunks. */
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * Sends requests upstream over one keep-alive pool per connection (undici:
 * streams both ways, honours backpressure, never follows redirects, so a
 * 3xx is passed back, masked, instead of being chased with the credential).
 */
export class Forwarder {
  readonly #pools = new Map<string, Pool>();

  #pool(conn: Connection): Pool {
    let pool = this.#pools.get(conn.name);
    if (!pool) {
      pool = new Pool(new URL(conn.upstream).origin, { connections: 128, connectTimeout: 10_000, keepAliveTimeout: 30_000 });
      this.#pools.set(conn.name, pool);
    }
    return pool;
  }

  async forward(conn: Connection, req: ForwardRequest): Promise<Dispatcher.ResponseData> {
    try {
      return await this.#pool(conn).request({
        method: req.method as Dispatcher.HttpMethod,
        path: req.path,
        headers: req.headers,
        body: req.body,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal: req.signal,
      });
    } catch (err) {
      throw upstreamError(conn.name, err);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#pools.values()].map((p) => p.close()));
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
  if (err instanceof undiciErrors.RequestAbortedError) {
    return new ProxyError('ERR_BAD_REQUEST', 'the request was aborted', { cause: err });
  }
  return new ProxyError('ERR_UPSTREAM_UNREACHABLE', `connection "${connection}": the upstream is unreachable`, { cause: err });
}
