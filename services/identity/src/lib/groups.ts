import type { GroupRule } from '../config.js';
import { type CompiledConstraint, compileConstraints } from './constraints.js';

interface CompiledRule {
  group: string;
  when: CompiledConstraint[];
}

/**
 * Group membership: names from the token's groups claim plus configured
 * rules over the verified claims. A rule should name `iss`, otherwise any
 * trusted issuer able to mint the same claim names would also match.
 */
export class GroupResolver {
  private readonly rules: CompiledRule[];

  constructor(rules: readonly GroupRule[]) {
    this.rules = rules.map((r) => ({ group: r.name, when: compileConstraints(r.when) }));
  }

  resolve(claims: Record<string, unknown>, groupsClaim: string | undefined): string[] {
    const out = new Set<string>();
    if (groupsClaim) {
      const v = claims[groupsClaim];
      if (Array.isArray(v)) for (const g of v) if (typeof g === 'string' && g.length > 0) out.add(g);
      if (typeof v === 'string' && v.length > 0) out.add(v);
    }
    for (const r of this.rules) if (r.when.every((c) => c.test(claims))) out.add(r.group);
    return [...out].sort();
  }
}
