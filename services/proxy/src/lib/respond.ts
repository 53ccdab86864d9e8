import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Adapter, Classification } from '../adapters/types.js';
import type { ProxyError } from '../errors.js';
import { headerText, safeHeaders } from './header-safe.js';

/** The JSON body of a refusal. */
export function errorBody(err: ProxyError, ctx: { connection: string | undefined; requestId: string }): string {
  return JSON.stringify({
    error: { code: err.code, status: err.status, message: err.message, ...(ctx.connection && { connection: ctx.connection }), requestId: ctx.requestId },
  });
}

/** The last resort when a refusal cannot be written as built: a fixed body, fixed headers, nothing from data. */
const FALLBACK_BODY = JSON.stringify({ error: { code: 'ERR_INTERNAL', status: 500, message: 'internal error' } });

/**
 * Sends a refusal (adapter's rendering when it has one, else JSON). When the
 * client's body was not read, the connection is closed after the answer so a
 * large unread body is not drained.
 *
 * Never throws: every header value is made header-safe first (error
 * descriptions carry token claims, adapters build content types from
 * requests); should writing still fail, a fixed 500 goes out instead, and
 * when even that cannot be written the socket is destroyed. A refusal must
 * never become an exception that ends the process.
 */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  err: ProxyError,
  ctx: { connection: string | undefined; requestId: string; adapter?: Adapter | undefined; classification?: Classification | undefined },
): void {
  try {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const rendered = renderOrDefault(err, ctx);
    const body = typeof rendered.body === 'string' ? Buffer.from(rendered.body) : rendered.body;
    const headers: Record<string, string | number | string[]> = {
      ...safeHeaders({ ...rendered.headers, ...err.headers }),
      'cache-control': 'no-store',
      'x-request-id': headerText(ctx.requestId, 128),
      'content-length': body.length,
    };
    if (hasUnreadBody(req)) headers['connection'] = 'close';
    const status = Number.isInteger(rendered.status) && rendered.status >= 200 && rendered.status <= 599 ? rendered.status : 500;
    // The reason phrase is node's for the status, never text from the error.
    res.writeHead(status, headers);
    res.end(body);
  } catch {
    fallback(res);
  }
}

function renderOrDefault(err: ProxyError, ctx: { connection: string | undefined; requestId: string; adapter?: Adapter | undefined }) {
  try {
    const r = ctx.adapter?.renderError?.(err, ctx);
    if (r) return r;
  } catch {
    // An adapter that cannot render its refusal still refuses: the JSON body below.
  }
  return { status: err.status, headers: { 'content-type': 'application/json; charset=utf-8' } as Record<string, string>, body: errorBody(err, ctx) };
}

function hasUnreadBody(req: IncomingMessage): boolean {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  return hasBody && !req.complete;
}

/** Fixed 500, closing the connection; destroys the socket when the head cannot be written at all. */
function fallback(res: ServerResponse): void {
  try {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.shouldKeepAlive = false;
    res.writeHead(500, 'Internal Server Error', {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(FALLBACK_BODY),
      connection: 'close',
    });
    res.end(FALLBACK_BODY);
  } catch {
    res.destroy();
  }
}
