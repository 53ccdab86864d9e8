import type { Principal } from '@agentgate/events';
import {
  type IdentityConfig,
  type IdentityConfigInput,
  type IdentityRuntimeOptions,
  type IssuerConfig,
  parseIdentityConfig,
  resolveRuntime,
} from './config.js';
import { IdentityError } from './errors.js';
import { type CompiledConstraint, compileConstraints, enforceConstraints, requireClaims } from './lib/constraints.js';
import { GroupResolver } from './lib/groups.js';
import { type Profile, profileFor } from './lib/profiles.js';
import { TokenCache } from './lib/token-cache.js';
import { TokenVerifier } from './lib/verifier.js';

/** Counters for tests, stats and the benchmark. */
export interface IdentityStats {
  /** Tokens that went through signature verification. */
  verifications: number;
  cacheHits: number;
  cacheSize: number;
  refused: number;
}

interface IssuerRuntime {
  cfg: IssuerConfig;
  profile: Profile;
  required: string[];
  constraints: CompiledConstraint[];
  groupsClaim: string | undefined;
  relevant: string[];
}

/**
 * Turns a CI OIDC token into a {@link Principal}, or throws an
 * {@link IdentityError} with a distinct code. Verified tokens are cached by
 * their SHA-256 until their exp (bounded by the cache ttl).
 */
export class IdentityVerifier {
  readonly config: IdentityConfig;
  private readonly verifier: TokenVerifier;
  private readonly cache: TokenCache<Principal>;
  private readonly groups: GroupResolver;
  private readonly issuers = new Map<string, IssuerRuntime>();
  private verifications = 0;
  private refused = 0;

  constructor(config: IdentityConfigInput, runtime: IdentityRuntimeOptions = {}) {
    this.config = parseIdentityConfig(config);
    const rt = resolveRuntime(this.config, runtime);
    this.verifier = new TokenVerifier(this.config, rt);
    this.cache = new TokenCache<Principal>(rt.cache.maxEntries, rt.cache.ttlSec * 1000, rt.now);
    // Rules are compiled once here, never per request.
    this.groups = new GroupResolver(this.config.groups);
    for (const cfg of this.config.issuers) {
      const profile = profileFor(cfg.profile);
      const groupsClaim = cfg.groupsClaim ?? (cfg.profile === 'generic' ? 'groups' : undefined);
      const constraints = compileConstraints(cfg.claimConstraints);
      this.issuers.set(cfg.issuer, {
        cfg,
        profile,
        required: [...new Set([...profile.required, ...cfg.requiredClaims])],
        constraints,
        groupsClaim,
        relevant: [...new Set([...profile.relevant, ...cfg.requiredClaims, ...constraints.map((c) => c.claim), ...(groupsClaim ? [groupsClaim] : [])])],
      });
    }
  }

  /** Verifies a token (or answers from the cache). */
  async verify(token: unknown): Promise<Principal> {
    const key = typeof token === 'string' && token.length <= 1024 * 1024 ? TokenCache.key(token) : undefined;
    if (key) {
      const hit = this.cache.get(key);
      if (hit) return hit;
    }
    try {
      const principal = await this.verifyUncached(token);
      if (key) this.cache.set(key, principal, principal.expiresAt * 1000);
      return principal;
    } catch (err) {
      this.refused += 1;
      throw err;
    }
  }

  stats(): IdentityStats {
    return { verifications: this.verifications, cacheHits: this.cache.hits, cacheSize: this.cache.size, refused: this.refused };
  }

  /** JWKS fetch attempts made for one issuer. */
  jwksFetches(issuer: string): number {
    return this.verifier.jwksFetches(issuer);
  }

  private async verifyUncached(token: unknown): Promise<Principal> {
    this.verifications += 1;
    const { issuer, payload } = await this.verifier.verify(token);
    const rt = this.issuers.get(issuer.issuer);
    if (!rt) throw new IdentityError('ERR_TOKEN_ISSUER_UNKNOWN', `issuer ${issuer.issuer} is not configured`);
    const claims = payload as Record<string, unknown>;
    requireClaims(claims, rt.required);
    enforceConstraints(claims, rt.constraints);
    const picked: Record<string, unknown> = {};
    for (const name of rt.relevant) {
      const v = claims[name];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') picked[name] = v;
      else if (Array.isArray(v)) picked[name] = v.filter((x): x is string => typeof x === 'string');
    }
    const principal: Principal = {
      issuer: issuer.issuer,
      subject: payload.sub,
      groups: this.groups.resolve(claims, rt.groupsClaim),
      claims: picked,
      ci: rt.profile.ci(claims),
      sessionId: rt.profile.sessionId(claims, issuer.issuer, token as string),
      expiresAt: payload.exp,
    };
    // Frozen: cached principals are shared between callers.
    return deepFreeze(principal);
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
