/**
 * Decisions per second for a 50-rule policy.
 * Run: node --conditions=agentgate-source --import tsx bench/decide.ts
 *
 * Cases, same process: the baseline is 50 glob-only rules (no CEL), so the
 * difference is the CEL cost. "worst" walks all 50 rules with CEL and falls
 * to the default; "early" is decided by rule 3; "middle" by rule ~25.
 */
import type { PolicyConfig } from '@agentgate/config';
import type { Principal } from '@agentgate/events';
import { compilePolicy } from '../src/index.js';
import type { Policy, PolicyAction } from '../src/index.js';

type Rule = PolicyConfig['rules'][number];

const principal: Principal = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject: 'repo:acme/app:ref:refs/heads/main',
  groups: ['developers', 'release'],
  claims: { repository_owner: 'acme', run_number: 42 },
  ci: { provider: 'github-actions', repository: 'acme/app', ref: 'refs/heads/main', workflow: 'deploy', actor: 'alice' },
  sessionId: 'sess-1',
  expiresAt: 2_000_000_000,
};

function celRules(): Rule[] {
  const rules: Rule[] = [];
  for (let i = 0; i < 50; i++) {
    rules.push({
      name: `rule-${i}`,
      actions: i % 2 === 0 ? ['http.*'] : ['http.get', 'http.head'],
      when: `principal.ci.repository == "acme/repo-${i}" && "developers" in principal.groups && attrs.path.startsWith("/repos/acme/")`,
      decision: i % 3 === 0 ? 'deny' : 'allow',
    });
  }
  return rules;
}

function globRules(): Rule[] {
  return Array.from({ length: 50 }, (_, i) => ({ name: `rule-${i}`, actions: [`http.op${i}`], decision: 'allow' as const }));
}

function measure(label: string, policy: Policy, who: Principal, action: PolicyAction, expectRule: string | null): number {
  const first = policy.decide(who, action);
  if (first.rule !== expectRule) throw new Error(`${label}: expected rule ${expectRule}, got ${first.rule}`);
  for (let i = 0; i < 2000; i++) policy.decide(who, action);
  let n = 0;
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() - start < 1_000_000_000n) {
    for (let i = 0; i < 200; i++) policy.decide(who, action);
    n += 200;
  }
  const rate = n / (Number(process.hrtime.bigint() - start) / 1e9);
  console.log(`${label.padEnd(46)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} decisions/s  ${(1e6 / rate).toFixed(2).padStart(8)} µs/decision`);
  return rate;
}

const action: PolicyAction = { kind: 'http.get', connection: 'api', attributes: { method: 'GET', path: '/repos/acme/app/issues' } };
// Principals differ only in the repository, so rule i is the first to match.
const repo = (i: number): Principal => ({ ...principal, ci: { ...principal.ci, repository: `acme/repo-${i}` } });

const t0 = performance.now();
const cel = compilePolicy({ rules: celRules(), default: 'deny' });
console.log(`compile 50 CEL rules: ${(performance.now() - t0).toFixed(1)} ms`);

const baseline = measure('baseline: 50 glob-only rules, none matches', compilePolicy({ rules: globRules(), default: 'deny' }), principal, action, null);
const worst = measure('50 CEL rules, none matches (all evaluated)', cel, principal, action, null);
measure('50 CEL rules, rule 3 matches', cel, repo(3), action, 'rule-3');
measure('50 CEL rules, rule 25 matches', cel, repo(25), action, 'rule-25');
console.log(`CEL worst case: ${(baseline / worst).toFixed(1)}x the glob-only baseline's cost`);
