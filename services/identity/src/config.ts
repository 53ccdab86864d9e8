import { type DeepReadonly, type IdentityConfig, type IssuerConfig, identitySchema, JWT_ALGORITHMS } from '@agentgate/config';
import { flattenIssues } from '@agentgate/events';
import type { z } from 'zod';
import { IdentityError } from './errors.js';

/**
 * The `identity` configuration section is the config package's schema
 * (`packages/config/src/sections/identity.ts`), the one source of its keys,
 * rules and defaults: `config.identity` from `loadConfig()` is accepted as is,
 * and a hand-built section (tests, embedders) is parsed by the same schema.
 */

/** Only asymmetric algorithms: a symmetric one would let anyone holding the public key forge tokens. */
export const ASYMMETRIC_ALGORITHMS = JWT_ALGORITHMS;

/** The schema of the section (the config package's `identity`). */
export const identityConfigSchema = identitySchema;

/** What callers may pass: a hand-built section or the frozen `config.identity` of loadConfig(). */
export type IdentityConfigInput = DeepReadonly<z.input<typeof identitySchema>>;
export type { IdentityConfig, IssuerConfig };
export type GroupRule = IdentityConfig['groups'][number];

/** Validates and fills defaults; a bad key stops start-up with a message naming it. */
export function parseIdentityConfig(input: unknown): IdentityConfig {
  const res = identitySchema.safeParse(input ?? {});
  if (!res.success) {
    const first = flattenIssues(res.error.issues)[0];
    throw new IdentityError('ERR_IDENTITY_CONFIG', `invalid identity config at "${first?.path ?? ''}": ${first?.message ?? 'invalid'}`, {
      cause: res.error,
    });
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

/** The section's cache and JWKS settings (defaults from the schema) with the run-time overrides applied. */
export function resolveRuntime(config: IdentityConfig, o: IdentityRuntimeOptions = {}): ResolvedRuntime {
  const c = config.cache;
  const j = config.jwks;
  return {
    cache: { maxEntries: o.cache?.maxEntries ?? c.maxEntries, ttlSec: o.cache?.ttlSec ?? c.ttlSec },
    jwks: {
      cooldownSec: o.jwks?.cooldownSec ?? j.cooldownSec,
      maxAgeSec: o.jwks?.maxAgeSec ?? j.maxAgeSec,
      timeoutMs: o.jwks?.timeoutMs ?? j.timeoutMs,
    },
    now: o.now ?? Date.now,
  };
}
