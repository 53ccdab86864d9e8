import { jwtVerify, type JWTPayload } from 'jose';
import type { IdentityConfig, IssuerConfig, ResolvedRuntime } from '../config.js';
import { IdentityError } from '../errors.js';
import { IssuerKeys } from './issuer-keys.js';
import { precheck } from './precheck.js';

export interface VerifiedToken {
  issuer: IssuerConfig;
  payload: JWTPayload & { iss: string; sub: string; exp: number };
}

/** Verifies signature and registered claims, choosing the issuer by the unverified `iss` and then trusting only that issuer's keys. */
export class TokenVerifier {
  private readonly issuers = new Map<string, { cfg: IssuerConfig; keys: IssuerKeys }>();
  private readonly now: () => number;
  /** The size bound applied before parsing, when the issuer is not known yet. */
  private readonly maxTokenBytes: number;

  constructor(config: IdentityConfig, runtime: ResolvedRuntime) {
    this.now = runtime.now;
    this.maxTokenBytes = config.issuers.length > 0 ? Math.max(...config.issuers.map((i) => i.maxTokenBytes)) : 16384;
    for (const cfg of config.issuers) {
      const keys = new IssuerKeys({
        issuer: cfg.issuer,
        jwksUri: cfg.discovery ? undefined : cfg.jwksUri,
        cooldownMs: runtime.jwks.cooldownSec * 1000,
        maxAgeMs: runtime.jwks.maxAgeSec * 1000,
        timeoutMs: runtime.jwks.timeoutMs,
        now: this.now,
      });
      this.issuers.set(cfg.issuer, { cfg, keys });
    }
  }

  /** JWKS fetch attempts per issuer (for tests and stats). */
  jwksFetches(issuer: string): number {
    return this.issuers.get(issuer)?.keys.fetches ?? 0;
  }

  async verify(token: unknown): Promise<VerifiedToken> {
    const { header, payload } = precheck(token, this.maxTokenBytes);
    const iss = payload.iss;
    if (typeof iss !== 'string' || iss.length === 0) {
      throw new IdentityError('ERR_TOKEN_CLAIM_MISSING', 'token has no iss claim');
    }
    const entry = this.lookup(iss);
    if (!entry) throw new IdentityError('ERR_TOKEN_ISSUER_UNKNOWN', `issuer ${truncate(iss)} is not configured`);
    const { cfg, keys } = entry;
    if ((token as string).length > cfg.maxTokenBytes) {
      throw new IdentityError('ERR_TOKEN_TOO_LARGE', `token is larger than ${cfg.maxTokenBytes} bytes`);
    }
    if (!(cfg.algorithms as string[]).includes(header.alg as string)) {
      throw new IdentityError('ERR_TOKEN_ALG', `alg "${truncate(String(header.alg))}" is not accepted for issuer ${cfg.issuer}`);
    }
    // No JWS extension is understood here, so any crit header must be refused (RFC 7515 4.1.11).
    if (header.crit !== undefined) {
      throw new IdentityError('ERR_TOKEN_CRIT', 'token has a crit header naming extensions this verifier does not understand');
    }
    try {
      const res = await jwtVerify(token as string, keys.getKey, {
        issuer: cfg.issuer,
        audience: cfg.audiences,
        algorithms: cfg.algorithms,
        clockTolerance: cfg.clockToleranceSec,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(this.now()),
      });
      const iat = res.payload.iat;
      // jose checks iat only against a maximum token age: a token "issued" in the future
      // would otherwise live past the issuer's intended lifetime, so refuse it beyond the skew allowance.
      if (iat !== undefined && iat > Math.floor(this.now() / 1000) + cfg.clockToleranceSec) {
        throw new IdentityError('ERR_TOKEN_NOT_YET_VALID', 'token is issued in the future (iat beyond the clock tolerance)');
      }
      return { issuer: cfg, payload: res.payload as VerifiedToken['payload'] };
    } catch (err) {
      throw mapJoseError(err, cfg);
    }
  }

  private lookup(iss: string): { cfg: IssuerConfig; keys: IssuerKeys } | undefined {
    const exact = this.issuers.get(iss);
    if (exact) return exact;
    // A near-miss (trailing slash) is routed to its issuer so that jose's exact iss check
    // reports a mismatch rather than "unknown": the name is close but not the one configured.
    const trimmed = iss.replace(/\/+$/, '');
    for (const [name, e] of this.issuers) if (name.replace(/\/+$/, '') === trimmed) return e;
    return undefined;
  }
}

export function mapJoseError(err: unknown, cfg: IssuerConfig): IdentityError {
  if (err instanceof IdentityError) return err;
  const e = err as { code?: string; claim?: string; reason?: string };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return new IdentityError('ERR_TOKEN_EXPIRED', 'token has expired', { cause: err });
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.reason === 'missing') {
        return new IdentityError('ERR_TOKEN_CLAIM_MISSING', `token has no ${e.claim} claim`, { cause: err });
      }
      if (e.claim === 'nbf') return new IdentityError('ERR_TOKEN_NOT_YET_VALID', 'token is not yet valid (nbf)', { cause: err });
      if (e.claim === 'iss') {
        return new IdentityError('ERR_TOKEN_ISSUER_MISMATCH', `token iss does not equal the configured issuer ${cfg.issuer}`, {
          cause: err,
        });
      }
      if (e.claim === 'aud') {
        return new IdentityError('ERR_TOKEN_AUDIENCE', 'token audience is not one accepted for this issuer', { cause: err });
      }
      if (e.claim === 'iat') return new IdentityError('ERR_TOKEN_NOT_YET_VALID', 'token is issued in the future (iat)', { cause: err });
      return new IdentityError('ERR_TOKEN_MALFORMED', `token claim ${e.claim} is invalid`, { cause: err });
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new IdentityError('ERR_TOKEN_SIGNATURE', 'token signature does not verify with the issuer key', { cause: err });
    case 'ERR_JOSE_NOT_SUPPORTED':
      // jose refuses unknown crit extensions with this code.
      if (/crit|extension/i.test(String((err as Error).message))) {
        return new IdentityError('ERR_TOKEN_CRIT', 'token has an unsupported crit header', { cause: err });
      }
      return new IdentityError('ERR_TOKEN_ALG', 'token alg is not supported', { cause: err });
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new IdentityError('ERR_TOKEN_ALG', 'token alg is not accepted', { cause: err });
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new IdentityError('ERR_TOKEN_KID_UNKNOWN', "no issuer key matches the token's kid", { cause: err });
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new IdentityError('ERR_TOKEN_KID_UNKNOWN', 'token has no kid and several issuer keys match', { cause: err });
    case 'ERR_JWS_INVALID':
      if (/crit/i.test(String((err as Error).message))) {
        return new IdentityError('ERR_TOKEN_CRIT', 'token has an unsupported crit header', { cause: err });
      }
      return new IdentityError('ERR_TOKEN_MALFORMED', 'token is not a valid JWS', { cause: err });
    case 'ERR_JWT_INVALID':
    case 'ERR_JWT_CLAIM_INVALID':
      return new IdentityError('ERR_TOKEN_MALFORMED', 'token claims are not a valid JWT claim set', { cause: err });
    default:
      // Fail closed: an error we do not recognise still refuses the token.
      return new IdentityError('ERR_TOKEN_SIGNATURE', 'token could not be verified', { cause: err });
  }
}

/** Values from an unverified token are attacker-chosen: keep them short in messages. */
function truncate(v: string): string {
  return v.length > 80 ? `${v.slice(0, 80)}…` : v;
}
