/**
 * The verified identity of a caller. Kept here until @agentgate/events
 * publishes the shared type; same shape.
 */

export type CiProvider = 'github-actions' | 'gitlab-ci' | 'generic';

/** Where the call comes from in CI terms. */
export interface CiContext {
  provider: CiProvider;
  repository?: string;
  ref?: string;
  workflow?: string;
  run?: string;
  attempt?: string;
  actor?: string;
  environment?: string;
  event?: string;
}

export type ClaimValue = string | number | boolean | string[];

export interface Principal {
  issuer: string;
  subject: string;
  /** Sorted, without duplicates: from the token's groups claim and the configured group rules. */
  groups: string[];
  /** The claims relevant to policy and audit (profile claims, required claims, groups claim). */
  claims: Record<string, ClaimValue>;
  ci: CiContext;
  /** One pipeline run attempt: every action of one agent run lands on one timeline. */
  sessionId: string;
  /** Token expiry, ms since epoch. */
  expiresAt: number;
}
