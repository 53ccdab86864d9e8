import { AuditWriterError } from '../errors.js';

/** A response as the sinks see it, whatever the client. */
export interface HttpResult {
  status: number;
  body: unknown;
}

/** The small surface the search sinks need from an official client. */
export interface SearchHttp {
  request(method: string, path: string, body?: unknown, opts?: { ndjson?: string; query?: Record<string, string> }): Promise<HttpResult>;
  close(): Promise<void>;
}

interface ClientError {
  meta?: { statusCode?: number; body?: unknown };
}

/**
 * Runs a client call and turns HTTP error statuses into results (the sink decides what a
 * 404 or 409 means); a failure without a status (connection refused, timeout) becomes
 * ERR_SINK_UNAVAILABLE so the writer retries it.
 */
export async function callClient(fn: () => Promise<{ statusCode?: number | null; body: unknown }>, what: string): Promise<HttpResult> {
  try {
    const res = await fn();
    return { status: res.statusCode ?? 200, body: res.body };
  } catch (err) {
    const meta = (err as ClientError).meta;
    if (meta && typeof meta.statusCode === 'number' && meta.statusCode > 0) return { status: meta.statusCode, body: meta.body };
    throw new AuditWriterError('ERR_SINK_UNAVAILABLE', `${what} unreachable`, { cause: err });
  }
}
