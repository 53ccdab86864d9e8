import type { IncomingHttpHeaders } from 'node:http';

/** Headers that describe one connection, never the message (RFC 9110 §7.6.1), plus framing the proxy redoes itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
]);

/**
 * Request headers the client may not pass upstream:
 * - authorization: the client's OIDC token is for the gateway only; the upstream gets the brokered credential instead;
 * - cookie: a client cookie would be a credential the gateway neither issued nor audited;
 * - host: set from the connection's upstream URL, never chosen by the client;
 * - expect: the gateway answers 100-continue itself; undici refuses to forward it;
 * - forwarded / x-forwarded-* / x-real-ip: not added and not passed on: an upstream must not trust
 *   client-asserted addresses, and the runner's internal address is no business of a third-party API
 *   (the audit event records source.ip).
 */
const CLIENT_ONLY = new Set(['authorization', 'cookie', 'host', 'expect', 'forwarded', 'x-real-ip', 'content-length']);

/** Names listed in Connection: (they are hop-by-hop too). */
function connectionListed(value: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  const list = Array.isArray(value) ? value : value ? [value] : [];
  for (const v of list) for (const name of v.split(',')) out.add(name.trim().toLowerCase());
  return out;
}

function isHopByHop(name: string, listed: Set<string>): boolean {
  return HOP_BY_HOP.has(name) || listed.has(name) || name.startsWith('proxy-');
}

/**
 * Headers to send upstream: client headers minus hop-by-hop and client-only
 * ones. `content-length` is re-added by the caller when the body length is known.
 */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const listed = connectionListed(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (isHopByHop(name, listed) || CLIENT_ONLY.has(name) || name.startsWith('x-forwarded-')) continue;
    out[name] = value;
  }
  return out;
}

/** Response headers from upstream minus hop-by-hop ones (the proxy frames the response itself). */
export function downstreamResponseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const conn = Object.entries(headers).find(([k]) => k.toLowerCase() === 'connection')?.[1];
  const listed = connectionListed(conn);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (isHopByHop(lower, listed)) continue;
    out[lower] = value;
  }
  return out;
}

/** Number of times a header occurs in the raw header list (node folds or drops duplicates). */
export function countRawHeader(rawHeaders: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === name) n++;
  return n;
}
