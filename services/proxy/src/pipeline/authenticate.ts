import { hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Bus, BusError, RemoteError } from '@agentgate/bus';
import { type Principal, SUBJECTS } from '@agentgate/events';
import { LRUCache } from 'lru-cache';
import { ProxyError } from '../errors.js';
import { quotedText } from '../lib/header-safe.js';
import { countRawHeader } from '../lib/headers.js';
import { stage, traceHeaders } from '@agentgate/telemetry';

/** How the client presented its token; the 401 challenge answers in the same scheme. */
export type AuthScheme = 'bearer' | 'basic';

export interface AuthResult {
  principal: Principal;
  scheme: AuthScheme;
}

// RFC 6750 b68token; a JWT fits. Anything else is malformed rather than guessed at.
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Extracts the CI token: `Bearer <token>` (or GitHub's `token <token>`), or `Basic base64(user:token)`
 * (what git and docker send; the username is ignored). Throws
 * ERR_AUTH_MISSING / ERR_AUTH_MALFORMED.
 */
export function extractToken(req: Pick<IncomingMessage, 'headers' | 'rawHeaders'>): { token: string; scheme: AuthScheme } {
  const header = req.headers.authorization;
  if (header === undefined || header === '') throw new ProxyError('ERR_AUTH_MISSING');
  // Node keeps only the first of repeated Authorization headers; two credentials are ambiguous, so refuse.
  if (countRawHeader(req.rawHeaders, 'authorization') > 1) throw new ProxyError('ERR_AUTH_MALFORMED', 'more than one Authorization header');
  const sp = header.indexOf(' ');
  if (sp <= 0) throw new ProxyError('ERR_AUTH_MALFORMED', 'Authorization header must be "Bearer <token>" or "Basic <base64>"');
  const scheme = header.slice(0, sp).toLowerCase();
  const rest = header.slice(sp + 1).trim();
  // `token` is GitHub's own scheme (what `gh` sends): a bearer token by another name.
  if (scheme === 'bearer' || scheme === 'token') {
    if (!TOKEN68.test(rest)) throw new ProxyError('ERR_AUTH_MALFORMED', 'bearer token has invalid characters');
    return { token: rest, scheme: 'bearer' };
  }
  if (scheme === 'basic') {
    if (!TOKEN68.test(rest)) throw new ProxyError('ERR_AUTH_MALFORMED', 'basic credentials are not base64', { headers: challenge('basic') });
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const password = colon === -1 ? '' : decoded.slice(colon + 1);
    if (!TOKEN68.test(password)) {
      throw new ProxyError('ERR_AUTH_MALFORMED', 'basic credentials must carry the CI token as the password', { headers: challenge('basic') });
    }
    return { token: password, scheme: 'basic' };
  }
  throw new ProxyError('ERR_AUTH_MALFORMED', 'unsupported Authorization scheme (use Bearer, token or Basic)');
}

/**
 * `WWW-Authenticate` for a 401. The description quotes identity's reason, which
 * may quote the token's own claims (`iss`, `alg`): it is made header-safe
 * (visible ASCII, no quote or backslash, bounded), since one non-ASCII
 * character in a header value makes node throw instead of answering.
 */
export function challenge(scheme: AuthScheme, description?: string): Record<string, string> {
  if (scheme === 'basic') return { 'www-authenticate': 'Basic realm="agentgate", charset="UTF-8"' };
  const desc = description ? `, error="invalid_token", error_description="${quotedText(description, 200)}"` : '';
  return { 'www-authenticate': `Bearer realm="agentgate"${desc}` };
}

export interface AuthenticatorOptions {
  timeoutMs: number;
  /** Principals are cached by SHA-256 of the token for this long (never past the token's expiry); 0 disables. */
  cacheTtlMs: number;
  cacheMax: number;
}

/** Verifies tokens through identity.verify, with a small bounded cache (least recently used goes first). */
export class Authenticator {
  readonly #bus: Bus;
  readonly #opts: AuthenticatorOptions;
  readonly #cache: LRUCache<string, Principal> | undefined;

  constructor(bus: Bus, opts: AuthenticatorOptions) {
    this.#bus = bus;
    this.#opts = opts;
    // ttlResolution 0: expiry is read from the clock on every lookup, never from a cached reading.
    this.#cache = opts.cacheTtlMs > 0 && opts.cacheMax > 0 ? new LRUCache({ max: opts.cacheMax, ttlResolution: 0 }) : undefined;
  }

  /** The request's principal (span `agentgate.authenticate` when tracing). */
  authenticate(req: Pick<IncomingMessage, 'headers' | 'rawHeaders'>, preferred: AuthScheme): Promise<AuthResult> {
    return stage('authenticate', () => this.#authenticate(req, preferred));
  }

  async #authenticate(req: Pick<IncomingMessage, 'headers' | 'rawHeaders'>, preferred: AuthScheme): Promise<AuthResult> {
    let extracted: { token: string; scheme: AuthScheme };
    try {
      extracted = extractToken(req);
    } catch (err) {
      if (err instanceof ProxyError && Object.keys(err.headers).length === 0) {
        throw new ProxyError(err.code, err.message, { headers: challenge(preferred) });
      }
      throw err;
    }
    const { token, scheme } = extracted;
    // Keyed by hash: the cache never holds a usable token.
    const key = hash('sha256', token, 'base64url');
    const hit = this.#cache?.get(key);
    if (hit) return { principal: hit, scheme };
    const now = Date.now();
    const principal = await this.#verify(token, scheme);
    // Never past the token's expiry (exclusive: lru-cache drops an entry once its age passes the TTL, hence one ms less); 0 would mean forever.
    const ttl = Math.min(this.#opts.cacheTtlMs, principal.expiresAt * 1000 - now) - 1;
    if (ttl > 0) this.#cache?.set(key, principal, { ttl });
    return { principal, scheme };
  }

  async #verify(token: string, scheme: AuthScheme): Promise<Principal> {
    try {
      // The identity service's span joins this trace (no headers when tracing is off).
      const headers = traceHeaders();
      return await this.#bus.request<Principal>(SUBJECTS.IDENTITY_VERIFY, { token }, { timeoutMs: this.#opts.timeoutMs, ...(headers && { headers }) });
    } catch (err) {
      if (err instanceof RemoteError && err.code.startsWith('ERR_TOKEN_')) {
        // Identity's messages never contain the token (its contract); they tell the pipeline author what to fix.
        const reason = `token refused (${err.code}): ${err.message}`;
        throw new ProxyError('ERR_AUTH_INVALID', reason, { cause: err, headers: challenge(scheme, reason) });
      }
      if (err instanceof BusError || err instanceof RemoteError) {
        // Identity unreachable or unable to verify (JWKS down): fail closed, never allow unverified.
        throw new ProxyError('ERR_IDENTITY_UNAVAILABLE', undefined, { cause: err });
      }
      throw new ProxyError('ERR_IDENTITY_UNAVAILABLE', undefined, { cause: err });
    }
  }
}
