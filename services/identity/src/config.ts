import { z } from 'zod';
import { IdentityError } from './errors.js';

/**
 * The `identity` configuration section. Kept here until the shared
 * @agentgate/config section lands; it is the same shape.
 */

// Only asymmetric algorithms: a symmetric one would let anyone holding the public key forge tokens.
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** A condition on one claim: exactly one of `equals`, `in`, `pattern`. */
export const claimConstraintSchema = z
  .strictObject({
    claim: z.string().min(1),
    equals: scalar.optional(),
    in: z.array(scalar).min(1).optional(),
    /** Anchored regular expression (compiled once at start-up). */
    pattern: z.string().min(1).optional(),
  })
  .refine((c) => [c.equals, c.in, c.pattern].filter((v) => v !== undefined).length === 1, {
    message: 'a claim constraint needs exactly one of equals, in, pattern',
  });

export const issuerSchema = z.strictObject({
  /** Exact `iss` value of the tokens. */
  issuer: z.url(),
  /** Accepted audience(s); a token must name one of them. */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** Claim profile deciding the `ci` block and the session id. */
  profile: z.enum(['github-actions', 'gitlab-ci', 'generic']).default('generic'),
  /** Explicit JWKS URL; without it the jwks_uri comes from OIDC discovery. */
  jwksUri: z.url().optional(),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default(['RS256']),
  clockToleranceSec: z.number().int().min(0).max(300).default(30),
  /** Claims that must be present (in addition to the profile's own). */
  requiredClaims: z.array(z.string().min(1)).default([]),
  /** Conditions every token of this issuer must meet (e.g. repository_owner equals "acme"). */
  claimConstraints: z.array(claimConstraintSchema).default([]),
  /** Claim holding group names (default `groups` for the generic profile, none otherwise). */
  groupsClaim: z.string().min(1).optional(),
  /** Allows http:// discovery and JWKS URLs (loopback tests only). */
  allowInsecureHttp: z.boolean().default(false),
});

export const groupRuleSchema = z.strictObject({
  /** Group granted when every condition holds. */
  group: z.string().min(1),
  /** Restricts the rule to one issuer (exact `iss`). */
  issuer: z.string().optional(),
  when: z.array(claimConstraintSchema).min(1),
});

export const identityConfigSchema = z.strictObject({
  issuers: z.array(issuerSchema).default([]),
  groupRules: z.array(groupRuleSchema).default([]),
  /** Tokens above this size are refused before any parsing. */
  maxTokenBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
  cache: z
    .strictObject({
      maxEntries: z.number().int().min(0).default(10_000),
      ttlSec: z.number().int().min(1).default(300),
    })
    .default({ maxEntries: 10_000, ttlSec: 300 }),
  jwks: z
    .strictObject({
      /** Minimum time between two refetches triggered by an unknown kid. */
      cooldownSec: z.number().min(0).default(30),
      /** Keys older than this are refetched before use. */
      maxAgeSec: z.number().min(1).default(600),
      timeoutMs: z.number().int().min(100).default(5000),
    })
    .default({ cooldownSec: 30, maxAgeSec: 600, timeoutMs: 5000 }),
});

export type IdentityConfigInput = z.input<typeof identityConfigSchema>;
export type IdentityConfig = z.output<typeof identityConfigSchema>;
export type IssuerConfig = z.output<typeof issuerSchema>;
export type ClaimConstraint = z.output<typeof claimConstraintSchema>;
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
  }
  return res.data;
}
