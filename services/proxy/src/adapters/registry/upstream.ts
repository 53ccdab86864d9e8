import { createHash } from 'node:crypto';
import { type Dispatcher, request } from 'undici';
import { ProxyError } from '../../errors.js';
import type { Lease } from '../../lib/ports.js';
import { upstreamPath } from '../../lib/request-target.js';
import { injectCredential } from '../../pipeline/lease.js';
import { upstreamError } from '../../pipeline/forward.js';
import type { Connection } from '../types.js';
import { parseChallenges } from './challenge.js';

/** A registry connection (its options are the registry's). */
export type RegistryConnection = Extract<Connection, { type: 'registry' }>;

/** How the upstream wants to be authenticated, learned from its `/v2/` ping. */
type UpstreamAuth = { readonly scheme: 'basic' } | { readonly scheme: 'bearer'; readonly realm: URL; readonly service: string | undefined };

const PROBE_TTL_MS = 10 * 60_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TOKEN_RESPONSE = 64 * 1024;
const MAX_CACHED_TOKENS = 1000;

const probes = new Map<string, { auth: UpstreamAuth; until: number }>();
const tokens = new Map<string, { token: string; until: number }>();

/** Time allowed for one of the adapter's own upstream calls (ping, token, HEAD, catalog). */
export function timeoutOf(conn: Connection): number {
  return conn.limits?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
}

/** Absolute URL of an API path on the connection's upstream (its base path kept). */
export function upstreamUrl(conn: Connection, apiPath: string, rawQuery = ''): string {
  const base = new URL(conn.upstream);
  return `${base.origin}${upstreamPath(base, apiPath, rawQuery)}`;
}

/**
 * Learns the upstream's scheme from an unauthenticated `GET /v2/`: a Bearer
 * challenge means the registry token flow, anything else gets the
 * credential injected as configured. Cached per upstream for ten minutes.
 */
async function probe(conn: RegistryConnection): Promise<UpstreamAuth> {
  const key = conn.upstream;
  const hit = probes.get(key);
  if (hit && hit.until > Date.now()) return hit.auth;
  const res = await send(conn, upstreamUrl(conn, '/v2/'), { method: 'GET', headers: {} });
  await res.body.dump().catch(() => {});
  let auth: UpstreamAuth = { scheme: 'basic' };
  if (res.statusCode === 401) {
    const bearer = parseChallenges(res.headers['www-authenticate']).find((c) => c.scheme === 'bearer');
    if (bearer?.params.realm) auth = { scheme: 'bearer', realm: realmOf(conn, bearer.params.realm), service: bearer.params.service };
  } else if (res.statusCode >= 500) {
    throw new ProxyError('ERR_UPSTREAM_FAILED', `connection "${conn.name}": the registry answered its ping with ${res.statusCode}`);
  }
  probes.set(key, { auth, until: Date.now() + PROBE_TTL_MS });
  return auth;
}

/**
 * The token endpoint gets the credential, so it must be one the operator
 * trusts: on the upstream's own host name (https, or http when the upstream
 * itself is http), or listed in `options.tokenRealms`. A registry could
 * otherwise name any host as its realm and collect the credential.
 */
function realmOf(conn: RegistryConnection, realm: string): URL {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new ProxyError('ERR_UPSTREAM_FAILED', `connection "${conn.name}": the registry's token realm is not a URL`);
  }
  const up = new URL(conn.upstream);
  const sameHost = url.hostname === up.hostname && (url.protocol === 'https:' || (url.protocol === 'http:' && up.protocol === 'http:'));
  const listed = conn.options.tokenRealms.some((r) => new URL(r).origin === url.origin);
  if (!(sameHost || listed) || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new ProxyError(
      'ERR_UPSTREAM_FAILED',
      `connection "${conn.name}": the registry's token endpoint is on another host; list its URL in options.tokenRealms to allow it`,
    );
  }
  return url;
}

/**
 * Sets the upstream authorization for a request needing `scopes`
 * (`repository:acme/app:pull,push`): the credential itself for Basic
 * registries, else a bearer token from the registry's token endpoint,
 * fetched with the credential and cached per scope until shortly before it
 * expires. The token is a credential too: it is never logged or recorded.
 */
export async function authorize(conn: RegistryConnection, lease: Lease, scopes: readonly string[], headers: Record<string, string | string[]>): Promise<void> {
  const auth = await probe(conn);
  if (auth.scheme === 'basic') {
    injectCredential(headers, lease, conn.name);
    return;
  }
  headers.authorization = `Bearer ${await token(conn, auth, lease, scopes)}`;
}

/** Forgets the cached tokens of a connection (after the upstream refused one), so the next request fetches anew. */
export function forgetTokens(conn: Connection): void {
  const prefix = `${conn.upstream}\u0000`;
  for (const key of tokens.keys()) if (key.startsWith(prefix)) tokens.delete(key);
  probes.delete(conn.upstream);
}

async function token(conn: RegistryConnection, auth: Extract<UpstreamAuth, { scheme: 'bearer' }>, lease: Lease, scopes: readonly string[]): Promise<string> {
  const scopeList = [...scopes].sort();
  // Keyed by a hash of the credential: a rotated secret never gets a token minted for the old one.
  const credential = createHash('sha256').update(lease.value).digest('base64url');
  const key = [conn.upstream, auth.realm.href, auth.service ?? '', scopeList.join(' '), credential].join('\u0000');
  const hit = tokens.get(key);
  if (hit && hit.until > Date.now()) return hit.token;
  const url = new URL(auth.realm.href);
  if (auth.service) url.searchParams.set('service', auth.service);
  for (const s of scopeList) url.searchParams.append('scope', s);
  const headers: Record<string, string | string[]> = { accept: 'application/json' };
  injectCredential(headers, lease, conn.name);
  const res = await send(conn, url.href, { method: 'GET', headers });
  if (res.statusCode !== 200) {
    await res.body.dump().catch(() => {});
    throw new ProxyError(
      'ERR_UPSTREAM_FAILED',
      `connection "${conn.name}": the registry's token endpoint refused the gateway's credential (${res.statusCode})`,
    );
  }
  const body = await readBounded(res.body, MAX_TOKEN_RESPONSE, conn);
  let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    throw new ProxyError('ERR_UPSTREAM_FAILED', `connection "${conn.name}": the registry's token endpoint answered something other than JSON`);
  }
  const value = typeof parsed.token === 'string' ? parsed.token : parsed.access_token;
  if (typeof value !== 'string' || !/^[A-Za-z0-9\-._~+/]+=*$/.test(value)) {
    throw new ProxyError('ERR_UPSTREAM_FAILED', `connection "${conn.name}": the registry's token endpoint answered without a usable token`);
  }
  // The spec's default lifetime is 60 s; keep a margin so a token does not expire in flight.
  const lifetime = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
  const until = Date.now() + Math.max(1, lifetime - Math.min(30, lifetime / 2)) * 1000;
  if (tokens.size >= MAX_CACHED_TOKENS) {
    const oldest = tokens.keys().next().value;
    if (oldest !== undefined) tokens.delete(oldest);
  }
  tokens.set(key, { token: value, until });
  return value;
}

/** One call of the adapter's own (HEAD before a manifest push, the catalog), authorized like a forwarded request. */
export async function upstreamCall(
  conn: RegistryConnection,
  lease: Lease | undefined,
  x: { method: 'GET' | 'HEAD'; apiPath: string; rawQuery?: string; scopes: readonly string[]; headers?: Record<string, string> },
): Promise<Dispatcher.ResponseData> {
  const headers: Record<string, string | string[]> = { ...x.headers };
  if (lease) await authorize(conn, lease, x.scopes, headers);
  return send(conn, upstreamUrl(conn, x.apiPath, x.rawQuery), { method: x.method, headers });
}

async function send(
  conn: Connection,
  url: string,
  x: { method: 'GET' | 'HEAD'; headers: Record<string, string | string[]> },
): Promise<Dispatcher.ResponseData> {
  const timeout = timeoutOf(conn);
  try {
    // Never follows redirects (undici's default): a 3xx is the caller's to judge, not a hop with the credential.
    // A HEAD keeps its connection (undici would close it): the manifest push it precedes follows at once (see forward.ts).
    return await request(url, {
      method: x.method,
      headers: x.headers,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      ...(x.method === 'HEAD' && { reset: false }),
    });
  } catch (err) {
    throw upstreamError(conn.name, err);
  }
}

/** Reads a body of at most `max` bytes; beyond, the stream is dropped and the call refused. */
export async function readBounded(body: Dispatcher.ResponseData['body'], max: number, conn: Connection): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of body) {
      n += (chunk as Buffer).length;
      if (n > max) {
        body.destroy();
        throw new ProxyError('ERR_UPSTREAM_TOO_LARGE', `connection "${conn.name}": the registry's answer exceeds ${max} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw upstreamError(conn.name, err);
  }
  return Buffer.concat(chunks);
}
