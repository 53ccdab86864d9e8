import type { GroupRule } from '../config.js';
import { type CompiledConstraint, compileConstraint } from './constraints.js';

interface CompiledRule {
  group: string;
  issuer: string | undefined;
  when: CompiledConstraint[];
}

/** Group membership: names from the token's groups claim plus configured rules over verified claims. */
export class GroupResolver {
  private readonly rules: CompiledRule[];

  constructor(rules: readonly GroupRule[]) {
    this.rules = rules.map((r) => ({ group: r.group, issuer: r.issuer, when: r.when.map(compileConstraint) }));
  }

  resolve(issuer: string, claims: Record<string, unknown>, groupsClaim: string | undefined): string[] {
    const out = new Set<string>();
    if (groupsClaim) {
      const v = claims[groupsClaim];
      if (Array.isArray(v)) for (const g of v) if (typeof g === 'string' && g.length > 0) out.add(g);
      if (typeof v === 'string' && v.length > 0) out.add(v);
    }
    for (const r of this.rules) {
      if (r.issuer !== undefined && r.issuer !== issuer) continue;
      if (r.when.every((c) => c.test(claims))) out.add(r.group);
    }
    return [...out].sort();
  }
}
