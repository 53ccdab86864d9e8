import { IdentityError } from '../errors.js';

/** A claim condition compiled once at start-up. */
export interface CompiledConstraint {
  readonly claim: string;
  readonly describe: string;
  test(claims: Record<string, unknown>): boolean;
}

/** `value`: the claim must equal it; a list: the claim must equal one of them. */
export function compileConstraint(claim: string, want: string | readonly string[]): CompiledConstraint {
  const set = new Set(typeof want === 'string' ? [want] : want);
  const match = (v: string): boolean => set.has(v);
  return {
    claim,
    describe: typeof want === 'string' ? `${claim} == ${want}` : `${claim} in [${want.join(', ')}]`,
    test(claims) {
      const value = claims[claim];
      // Scalars compare by their string form: GitLab sends ref_protected as "true", other issuers as true.
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return match(String(value));
      // A list claim (groups, aud) matches when one of its members does.
      if (Array.isArray(value)) return value.some((v) => (typeof v === 'string' || typeof v === 'number') && match(String(v)));
      return false;
    },
  };
}

export function compileConstraints(record: Record<string, string | readonly string[]>): CompiledConstraint[] {
  return Object.entries(record).map(([claim, want]) => compileConstraint(claim, want));
}

/** Throws ERR_TOKEN_CLAIM_MISSING for an absent claim (null and "" count as absent). */
export function requireClaims(claims: Record<string, unknown>, names: Iterable<string>): void {
  for (const name of names) {
    const v = claims[name];
    if (v === undefined || v === null || v === '') {
      throw new IdentityError('ERR_TOKEN_CLAIM_MISSING', `token has no ${name} claim`);
    }
  }
}

/** Throws ERR_TOKEN_CLAIM_CONSTRAINT naming the first unmet condition. */
export function enforceConstraints(claims: Record<string, unknown>, constraints: readonly CompiledConstraint[]): void {
  for (const c of constraints) {
    if (claims[c.claim] === undefined) {
      throw new IdentityError('ERR_TOKEN_CLAIM_MISSING', `token has no ${c.claim} claim`);
    }
    if (!c.test(claims)) throw new IdentityError('ERR_TOKEN_CLAIM_CONSTRAINT', `claim constraint not met: ${c.describe}`);
  }
}
