import type { ClaimConstraint } from '../config.js';
import { IdentityError } from '../errors.js';

/** A claim condition compiled once at start-up. */
export interface CompiledConstraint {
  readonly claim: string;
  readonly describe: string;
  test(claims: Record<string, unknown>): boolean;
}

/** Compiles `equals` / `in` / `pattern`; a bad regular expression stops start-up here, never per request. */
export function compileConstraint(c: ClaimConstraint): CompiledConstraint {
  let match: (v: string) => boolean;
  let describe: string;
  if (c.pattern !== undefined) {
    let re: RegExp;
    try {
      // Anchored so that "acme" cannot be satisfied by "not-acme-evil".
      re = new RegExp(`^(?:${c.pattern})$`);
    } catch (err) {
      throw new IdentityError('ERR_IDENTITY_CONFIG', `claim constraint on ${c.claim}: invalid pattern`, { cause: err });
    }
    match = (v) => re.test(v);
    describe = `${c.claim} matches /${c.pattern}/`;
  } else if (c.in !== undefined) {
    const set = new Set(c.in.map(String));
    match = (v) => set.has(v);
    describe = `${c.claim} in [${c.in.join(', ')}]`;
  } else {
    const want = String(c.equals);
    match = (v) => v === want;
    describe = `${c.claim} == ${want}`;
  }
  return {
    claim: c.claim,
    describe,
    test(claims) {
      const value = claims[c.claim];
      // Scalars compare by their string form: GitLab sends ref_protected as "true", others as true.
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return match(String(value));
      if (Array.isArray(value)) return value.some((v) => (typeof v === 'string' || typeof v === 'number') && match(String(v)));
      return false;
    },
  };
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

/** Throws ERR_TOKEN_CLAIM_CONSTRAINT naming the first unmet condition (the claim name, not its value). */
export function enforceConstraints(claims: Record<string, unknown>, constraints: readonly CompiledConstraint[]): void {
  for (const c of constraints) {
    if (claims[c.claim] === undefined) {
      throw new IdentityError('ERR_TOKEN_CLAIM_MISSING', `token has no ${c.claim} claim`);
    }
    if (!c.test(claims)) throw new IdentityError('ERR_TOKEN_CLAIM_CONSTRAINT', `claim constraint not met: ${c.describe}`);
  }
}
