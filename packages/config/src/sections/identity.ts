import { z } from 'zod';
import { checkUnique, claimMatch, httpUrl, nonEmpty, posInt, slug } from '../lib/common.js';

/** Asymmetric JWS algorithms only: HS* would turn a public key into a shared secret, `none` is no signature (RFC 8725). */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export const ISSUER_PROFILES = ['github-actions', 'gitlab-ci', 'generic'] as const;

const issuerSchema = z
  .strictObject({
    name: slug,
    issuer: httpUrl,
    audiences: z.array(nonEmpty).min(1),
    discovery: z.boolean().optional(),
    jwksUri: httpUrl.optional(),
    algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).default(['RS256']),
    clockToleranceSec: z.number().int().min(0).max(300).default(30),
    profile: z.enum(ISSUER_PROFILES).default('generic'),
    requiredClaims: z.array(nonEmpty).default([]),
    claimConstraints: z.record(nonEmpty, claimMatch).default({}),
    groupsClaim: nonEmpty.optional(),
    maxTokenBytes: posInt.max(1024 * 1024).default(16384),
  })
  .superRefine((v, ctx) => {
    if (v.discovery === true && v.jwksUri !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['jwksUri'], message: 'set either discovery: true or jwksUri, not both' });
    }
    if (v.discovery === false && v.jwksUri === undefined) {
      ctx.addIssue({ code: 'custom', path: ['jwksUri'], message: 'required when discovery is false' });
    }
  })
  // discovery defaults to true unless a fixed jwksUri is given.
  .transform((v) => ({ ...v, discovery: v.discovery ?? v.jwksUri === undefined }));

const groupSchema = z.strictObject({
  name: nonEmpty,
  /** All listed claims must match (a list means any of its values). */
  when: z.record(nonEmpty, claimMatch).refine((w) => Object.keys(w).length > 0, 'expected at least one claim'),
});

/** Verified-token cache of the identity service (key: SHA-256 of the token; entry lives until min(exp, now + ttl)). */
const cacheSchema = z
  .strictObject({
    /** 0 disables the cache. */
    maxEntries: z.number().int().min(0).default(10_000),
    ttlSec: posInt.default(300),
  })
  .prefault({});

/** JWKS fetching: refetch on an unknown kid at most once per cooldown; keys older than maxAge are refetched. */
const jwksSchema = z
  .strictObject({
    cooldownSec: z.number().int().min(0).default(30),
    maxAgeSec: posInt.default(600),
    timeoutMs: posInt.default(5000),
  })
  .prefault({});

/** `identity`: the OIDC issuers trusted to authenticate pipelines, and groups derived from claims. */
export const identitySchema = z
  .strictObject({
    issuers: z.array(issuerSchema).default([]),
    groups: z.array(groupSchema).default([]),
    cache: cacheSchema,
    jwks: jwksSchema,
  })
  .prefault({})
  .superRefine((v, ctx) => {
    checkUnique(
      ctx,
      v.issuers.map((i) => i.name),
      (i) => ['issuers', i, 'name'],
      'issuer name',
    );
    // Tokens are matched to their issuer by `iss`: a second entry for one issuer would silently shadow the first.
    checkUnique(
      ctx,
      v.issuers.map((i) => i.issuer),
      (i) => ['issuers', i, 'issuer'],
      'issuer',
    );
    checkUnique(
      ctx,
      v.groups.map((g) => g.name),
      (i) => ['groups', i, 'name'],
      'group name',
    );
  });

export type IdentityConfig = z.output<typeof identitySchema>;
export type IssuerConfig = IdentityConfig['issuers'][number];
