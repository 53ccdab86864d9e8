import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Adapter } from '../adapters/types.js';
import type { ProxyError } from '../errors.js';

/** The JSON body of a refusal. */
export function errorBody(err: ProxyError, ctx: { connection: string | undefined; requestId: string }): string {
  return JSON.stringify({
    error: { code: err.code, status: err.status, message: err.message, ...(ctx.connection && { connection: ctx.connection }), requestId: ctx.requestId },
  });
}

/**
 * Sends a refusal (adapter's rendering when it has one, else JSON). When the
 * client's body was not read, the connection is closed after the answer so a
 * large unread body is not drained.
 */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  err: ProxyError,
  ctx: { connection: string | undefined; requestId: string; adapter?: Adapter | undefined },
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const rendered = ctx.adapter?.renderError?.(err, ctx) ?? {
    status: err.status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: errorBody(err, ctx),
  };
  const body = typeof rendered.body === 'string' ? Buffer.from(rendered.body) : rendered.body;
  const headers: Record<string, string | number> = {
    ...rendered.headers,
    ...err.headers,
    'cache-control': 'no-store',
    'x-request-id': ctx.requestId,
    'content-length': body.length,
  };
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.complete) headers['connection'] = 'close';
  res.writeHead(rendered.status, headers);
  res.end(body);
}
