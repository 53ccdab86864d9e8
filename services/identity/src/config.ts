import { z } from 'zod';
import { IdentityError } from './errors.js';

/**
 * The `identity` configuration section, in the shape of @agentgate/config's
 * `identity` (so `config.identity` from `loadConfig()` is accepted as is).
 * Parsing here again gives hand-built configs (tests, embedders) the same
 * validation and defaults.
 */

// Only asymmetric algorithms: a symmetric one would let anyone holding the public key forge tokens.
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const nonEmpty = z.string().min(1);
/** One value, or any of several. */
const claimMatch = z.union([z.string(), z.array(z.string()).min(1)]);

export const issuerSchema = z
  .strictObject({
    /** Short name for logs. */
    name: nonEmpty,
    /** Exact `iss` value of the tokens. */
    issuer: z.url({ protocol: /^https?$/ }),
    /** Accepted audiences; a token must name one of them. */
    audiences: z.array(nonEmpty).min(1),
    /** OIDC discovery of jwks_uri (default: when no jwksUri is given). */
    discovery: z.boolean().optional(),
    jwksUri: z.url({ protocol: /^https?$/ }).optional(),
    algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default(['RS256']),
    clockToleranceSec: z.number().int().min(0).max(300).default(30),
    /** Claim profile deciding the `ci` block and the session id. */
    profile: z.enum(['github-actions', 'gitlab-ci', 'generic']).default('generic'),
    /** Claims that must be present (in addition to the profile's own). */
    requiredClaims: z.array(nonEmpty).default([]),
    /** claim → required value (or any of a list), e.g. `{ repository_owner: 'acme' }`. */
    claimConstraints: z.record(nonEmpty, claimMatch).default({}),
    /** Claim holding group names (default `groups` for the generic profile, none otherwise). */
    groupsClaim: nonEmpty.optional(),
    maxTokenBytes: z.number().int().positive().max(1024 * 1024).default(16384),
  })
  .transform((v) => ({ ...v, discovery: v.discovery ?? v.jwksUri === undefined }));

export const groupRuleSchema = z.strictObject({
  /** Group granted when every listed claim matches. */
  name: nonEmpty,
  /** claim → value or any of a list. Include `iss` to tie a rule to one issuer. */
  when: z.record(nonEmpty, claimMatch).refine((w) => Object.keys(w).length > 0, 'expected at least one claim'),
});

export const identityConfigSchema = z.strictObject({
  issuers: z.array(issuerSchema).default([]),
  groups: z.array(groupRuleSchema).default([]),
  /** Verified-token cache: entries (0 disables) and the longest life of an entry. */
  cache: z
    .strictObject({ maxEntries: z.number().int().min(0).optional(), ttlSec: z.number().int().positive().optional() })
    .optional(),
  /** JWKS fetching: min time between refetches on an unknown kid; max age of fetched keys; fetch timeout. */
  jwks: z
    .strictObject({
      cooldownSec: z.number().int().min(0).optional(),
      maxAgeSec: z.number().int().positive().optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .optional(),
});

/** Read-only view of a value (the shape of a frozen configuration from loadConfig). */
export type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** What callers may pass: a hand-built section or the frozen `config.identity` of loadConfig(). */
export type IdentityConfigInput = DeepReadonly<z.input<typeof identityConfigSchema>>;
export type IdentityConfig = z.output<typeof identityConfigSchema>;
export type IssuerConfig = z.output<typeof issuerSchema>;
export type GroupRule = z.output<typeof groupRuleSchema>;

/** Validates and fills defaults; a bad key stops start-up with a message naming it. */
export function parseIdentityConfig(input: unknown): IdentityConfig {
  const res = identityConfigSchema.safeParse(input ?? {});
  if (!res.success) {
    const first = res.error.issues[0];
    const where = first ? first.path.join('.') : '';
    throw new IdentityError('ERR_IDENTITY_CONFIG', `invalid identity config at "${where}": ${first?.message ?? 'invalid'}`, {
      cause: res.error,
    });
  }
  const seen = new Set<string>();
  for (const i of res.data.issuers) {
    if (seen.has(i.issuer)) throw new IdentityError('ERR_IDENTITY_CONFIG', `issuer "${i.issuer}" is configured twice`);
    seen.add(i.issuer);
    if (!i.discovery && !i.jwksUri) {
      throw new IdentityError('ERR_IDENTITY_CONFIG', `issuer "${i.name}": jwksUri is required when discovery is off`);
    }
  }
  return res.data;
}

/** Run-time tuning; overrides the section's `cache` / `jwks` values (tests move the clock). */
export interface IdentityRuntimeOptions {
  /** Verified-token cache: entries (0 disables) and the longest life of an entry. */
  cache?: { maxEntries?: number; ttlSec?: number };
  /** JWKS fetching: min time between refetches on an unknown kid; max age of fetched keys; fetch timeout. */
  jwks?: { cooldownSec?: number; maxAgeSec?: number; timeoutMs?: number };
  /** Clock in ms since epoch (tests move it). */
  now?: () => number;
}

export interface ResolvedRuntime {
  cache: { maxEntries: number; ttlSec: number };
  jwks: { cooldownSec: number; maxAgeSec: number; timeoutMs: number };
  now: () => number;
}

export function resolveRuntime(config: IdentityConfig, o: IdentityRuntimeOptions = {}): ResolvedRuntime {
  const c = { ...config.cache, ...o.cache };
  const j = { ...config.jwks, ...o.jwks };
  return {
    cache: { maxEntries: c.maxEntries ?? 10_000, ttlSec: c.ttlSec ?? 300 },
    jwks: { cooldownSec: j.cooldownSec ?? 30, maxAgeSec: j.maxAgeSec ?? 600, timeoutMs: j.timeoutMs ?? 5000 },
    now: o.now ?? Date.now,
  };
}
