import type { IncomingHttpHeaders } from 'node:http';
import { NEVER_FORWARDED_HEADERS } from '@agentgate/config';
import { headerText, headerUrl, isHeaderName } from './header-safe.js';

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
 * Request headers no connection may forward (the config refuses them in `requests.forwardHeaders`):
 * - authorization: the client's OIDC token is for the gateway only; the upstream gets the brokered credential instead;
 * - host: set from the connection's upstream URL, never chosen by the client;
 * - expect: the gateway answers 100-continue itself; undici refuses to forward it;
 * - content-length: re-added by the caller when the body length is known;
 * - method-override and URL-rewrite headers (`x-http-method-override`, `x-original-url`, …): frameworks
 *   (Rails, Laravel, Express method-override, IIS/Symfony rewrites) act on them, so the upstream would run
 *   another method or path than the one policy decided on.
 */
const NEVER = new Set<string>(NEVER_FORWARDED_HEADERS);

/**
 * Client-asserted identity: an upstream must not trust a client's claim about its own address or the
 * host it called (IP allowlists, tenant routing), and the runner's internal address is no business of a
 * third-party API (the audit event records source.ip). Stripped unless the connection forwards them.
 */
const CLIENT_IDENTITY = new Set([
  'forwarded',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'client-ip',
  'x-cluster-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  'x-host',
  'x-original-host',
  'via',
]);

/**
 * Credential-like headers: beside the injected credential they would reach the upstream as a second,
 * unaudited identity (a personal API key, a session cookie). Stripped unless the connection forwards them.
 */
const CREDENTIALS = new Set([
  'cookie',
  'x-api-key',
  'api-key',
  'apikey',
  'private-token',
  'job-token',
  'x-auth-token',
  'x-goog-api-key',
  'x-functions-key',
  'ocp-apim-subscription-key',
]);
/** Any name with one of these parts is credential-shaped (`x-vault-token`, `x-amz-security-token`, `x-session-id`, `x-auth`). */
const CREDENTIAL_SHAPED = /(?:^|-)(?:token|api-?key|apikey|secret|passw(?:or)?d|credentials?|session|auth)(?:-|$)/;

/**
 * Protocol headers whose names look credential-shaped but are not credentials:
 * `mcp-session-id` names an MCP session, which the mcp adapter binds to the
 * principal that opened it (a session id alone opens nothing).
 */
const PROTOCOL_IDS = new Set(['mcp-session-id']);

/** Why the gateway drops a client request header by default (undefined: it is forwarded). */
export function strippedBecause(name: string): 'never' | 'hop-by-hop' | 'client-identity' | 'credential' | undefined {
  if (NEVER.has(name)) return 'never';
  if (PROTOCOL_IDS.has(name)) return undefined;
  if (HOP_BY_HOP.has(name) || name.startsWith('proxy-')) return 'hop-by-hop';
  if (CLIENT_IDENTITY.has(name) || name.startsWith('x-forwarded-')) return 'client-identity';
  if (CREDENTIALS.has(name) || CREDENTIAL_SHAPED.test(name)) return 'credential';
  return undefined;
}

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
 * Headers to send upstream: client headers minus hop-by-hop, never-forwarded,
 * client-identity and credential-like ones; `forward` (the connection's
 * `requests.forwardHeaders`, lower-case) lets identity and credential-like
 * headers through, never the others. `content-length` is re-added by the
 * caller when the body length is known.
 */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders, forward: readonly string[] = []): Record<string, string | string[]> {
  const listed = connectionListed(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isHopByHop(name, listed)) continue;
    const why = strippedBecause(name);
    if (why === 'never' || why === 'hop-by-hop') continue;
    if (why !== undefined && !forward.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

// What node's writeHead accepts in a value: HTAB, visible ASCII, space and obs-text (an upstream may send Latin-1).
const WRITABLE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Response headers from upstream minus hop-by-hop ones (the proxy frames the
 * response itself). A name node would refuse is dropped and a value it would
 * refuse is made header-safe (a Location percent-encoded, so it still points
 * where the upstream meant): writing the head must never throw.
 */
export function downstreamResponseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const conn = Object.entries(headers).find(([k]) => k.toLowerCase() === 'connection')?.[1];
  const listed = connectionListed(conn);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (isHopByHop(lower, listed) || !isHeaderName(lower)) continue;
    const safe = (v: string): string => (WRITABLE.test(v) ? v : lower === 'location' || lower === 'content-location' ? headerUrl(v) : headerText(v));
    out[lower] = Array.isArray(value) ? value.map(safe) : safe(value);
  }
  return out;
}

/** Number of times a header occurs in the raw header list (node folds or drops duplicates). */
export function countRawHeader(rawHeaders: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === name) n++;
  return n;
}
