import { processMetrics } from '@agentgate/telemetry';
import { type CryptoKey, createLocalJWKSet, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { allowInsecureRequests, discovery } from 'openid-client';
import { IdentityError } from '../errors.js';

/** A JWKS larger than this is refused: no real issuer publishes that many keys. */
const MAX_JWKS_BYTES = 256 * 1024;

export interface IssuerKeysOptions {
  issuer: string;
  /** Explicit JWKS URL; without it OIDC discovery finds jwks_uri. */
  jwksUri?: string | undefined;
  /** Minimum time between refetches triggered by an unknown kid. */
  cooldownMs: number;
  /** Keys older than this are refetched before use. */
  maxAgeMs: number;
  timeoutMs: number;
  now?: () => number;
}

type KeyResolver = ReturnType<typeof createLocalJWKSet>;

/**
 * The signing keys of one issuer: fetched lazily, refetched on an unknown
 * kid (at most once per cooldown) and when older than maxAge. Keys are taken
 * only from the configured issuer's JWKS — never from a token's jku, x5u or
 * jwk header. When the JWKS cannot be fetched, tokens are refused
 * (ERR_JWKS_UNAVAILABLE): there is no fallback that allows.
 */
export class IssuerKeys {
  /** Successful and failed JWKS fetch attempts (discovery not counted). */
  fetches = 0;
  private resolver: KeyResolver | undefined;
  private fetchedAt = 0;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private failure: { at: number; error: IdentityError } | undefined;
  private inflight: Promise<void> | undefined;
  private jwksUri: string | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: IssuerKeysOptions) {
    this.jwksUri = opts.jwksUri;
    this.now = opts.now ?? Date.now;
  }

  /** Key resolver for jose's jwtVerify. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    if (!this.resolver || this.now() - this.fetchedAt > this.opts.maxAgeMs) {
      // While the issuer is down, refuse at once instead of hammering it on every request.
      if (this.failure && this.now() - this.failure.at < this.opts.cooldownMs) {
        throw new IdentityError('ERR_JWKS_UNAVAILABLE', this.failure.error.message, { cause: this.failure.error });
      }
      await this.refresh();
    }
    try {
      return await (this.resolver as KeyResolver)(header, token);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw err;
      // Rotation: an unknown kid may be a key published since the last fetch. Rate-limited so that
      // a flood of random kids cannot turn the gateway into a load generator against the issuer.
      if (this.now() - this.attemptedAt < this.opts.cooldownMs) {
        throw new IdentityError('ERR_TOKEN_KID_UNKNOWN', `no key of issuer ${this.opts.issuer} matches the token's kid`, {
          cause: err,
        });
      }
      await this.refresh();
      try {
        return await (this.resolver as KeyResolver)(header, token);
      } catch (again) {
        if ((again as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY') {
          throw new IdentityError('ERR_TOKEN_KID_UNKNOWN', `no key of issuer ${this.opts.issuer} matches the token's kid`, {
            cause: again,
          });
        }
        throw again;
      }
    }
  };

  /** Fetches the JWKS now (concurrent callers share one fetch). */
  refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<void> {
    this.attemptedAt = this.now();
    try {
      await this.fetchKeys();
      this.failure = undefined;
      processMetrics().identityJwksRefreshes.inc({ issuer: this.opts.issuer, outcome: 'ok' });
    } catch (err) {
      if (err instanceof IdentityError) this.failure = { at: this.now(), error: err };
      processMetrics().identityJwksRefreshes.inc({ issuer: this.opts.issuer, outcome: 'error' });
      throw err;
    }
  }

  private async fetchKeys(): Promise<void> {
    const uri = await this.resolveJwksUri();
    this.fetches += 1;
    let jwks: JSONWebKeySet;
    try {
      const res = await fetch(uri, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const text = await res.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS too large');
      jwks = JSON.parse(text) as JSONWebKeySet;
      if (!jwks || !Array.isArray(jwks.keys)) throw new Error('not a JWK set');
    } catch (err) {
      throw this.unavailable(`JWKS of issuer ${this.opts.issuer} could not be fetched (${reason(err)})`, err);
    }
    // Symmetric keys are dropped: a shared secret in a public JWKS would let anyone sign.
    const keys = jwks.keys.filter((k) => k && typeof k === 'object' && k.kty !== 'oct');
    try {
      this.resolver = createLocalJWKSet({ keys });
    } catch (err) {
      throw this.unavailable(`JWKS of issuer ${this.opts.issuer} is malformed`, err);
    }
    this.fetchedAt = this.now();
  }

  private async resolveJwksUri(): Promise<string> {
    if (!this.jwksUri) {
      try {
        const cfg = await discovery(new URL(this.opts.issuer), 'agentgate-identity', undefined, undefined, {
          execute: isLoopback(new URL(this.opts.issuer)) ? [allowInsecureRequests] : [],
          timeout: Math.ceil(this.opts.timeoutMs / 1000),
        });
        const found = cfg.serverMetadata().jwks_uri;
        if (!found) throw new Error('discovery document has no jwks_uri');
        this.jwksUri = found;
      } catch (err) {
        throw this.unavailable(`OIDC discovery of issuer ${this.opts.issuer} failed (${reason(err)})`, err);
      }
    }
    const url = new URL(this.jwksUri);
    // Keys fetched over plain http could be swapped in transit; only loopback (same host) is exempt.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
      throw this.unavailable(`JWKS URL of issuer ${this.opts.issuer} is not https`);
    }
    return url.href;
  }

  private unavailable(message: string, cause?: unknown): IdentityError {
    return new IdentityError('ERR_JWKS_UNAVAILABLE', message, { cause });
  }
}

function reason(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timeout';
    return err.message.slice(0, 120);
  }
  return 'unknown error';
}

/** True for 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine. */
export function isLoopback(url: URL): boolean {
  const h = url.hostname;
  return h === 'localhost' || h === '[::1]' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
