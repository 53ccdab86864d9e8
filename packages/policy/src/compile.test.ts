import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PolicyConfig } from '@agentgate/config';
import type { Principal } from '@agentgate/events';
import { compilePolicy } from './compile.js';
import type { PolicyAction } from './types.js';

type Rule = PolicyConfig['rules'][number];

const principal: Principal = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject: 'repo:acme/app:ref:refs/heads/main',
  groups: ['developers', 'release'],
  claims: { repository_owner: 'acme', run_number: 42, nested: { team: 'platform' } },
  ci: { provider: 'github-actions', repository: 'acme/app', ref: 'refs/heads/main', workflow: 'deploy', actor: 'alice' },
  sessionId: 'sess-1',
  expiresAt: 2_000_000_000,
};

function act(kind: string, connection = 'github', attributes: Record<string, unknown> = {}): PolicyAction {
  return { kind, connection, attributes };
}

function policy(rules: Rule[], def: PolicyConfig['default'] = 'deny') {
  return compilePolicy({ rules, default: def });
}

test('policy - first matching rule wins, in order', () => {
  const p = policy([
    { name: 'deny-force', actions: ['git.force_push'], decision: 'deny', reason: 'no force pushes' },
    { name: 'allow-git', actions: ['git.*'], decision: 'allow' },
    { name: 'deny-all-git', actions: ['git.*'], decision: 'deny' },
  ]);
  assert.deepEqual(p.decide(principal, act('git.force_push')), { effect: 'deny', rule: 'deny-force', reason: 'no force pushes' });
  assert.equal(p.decide(principal, act('git.push')).rule, 'allow-git');
  assert.equal(p.decide(principal, act('git.push')).effect, 'allow');
  assert.deepEqual(
    p.rules.map((r) => r.name),
    ['deny-force', 'allow-git', 'deny-all-git'],
  );
});

test('policy - nothing matches: the default is deny unless configured', () => {
  const p = policy([{ name: 'allow-get', actions: ['http.get'], decision: 'allow' }]);
  const d = p.decide(principal, act('http.post'));
  assert.equal(d.effect, 'deny');
  assert.equal(d.rule, null);
  assert.ok(d.reason.length > 0);
  assert.equal(policy([], 'allow').decide(principal, act('http.post')).effect, 'allow');
  assert.deepEqual(policy([], 'review').decide(principal, act('http.post')), { effect: 'review', rule: null, reason: 'approval required' });
});

test('policy - review without a reason says approval required; a configured reason wins', () => {
  const p = policy([
    { name: 'tags', actions: ['git.tag_*'], decision: 'review', reason: 'tags need a release manager' },
    { name: 'deletes', actions: ['kubernetes.delete'], decision: 'review' },
  ]);
  assert.deepEqual(p.decide(principal, act('kubernetes.delete', 'k8s')), { effect: 'review', rule: 'deletes', reason: 'approval required' });
  assert.equal(p.decide(principal, act('git.tag_move')).reason, 'tags need a release manager');
});

test('policy - connections filter restricts a rule to the named connections', () => {
  const p = policy([{ name: 'gh-only', connections: ['github'], actions: ['http.*'], decision: 'allow' }]);
  assert.equal(p.decide(principal, act('http.get', 'github')).effect, 'allow');
  assert.equal(p.decide(principal, act('http.get', 'gitlab')).effect, 'deny');
});

test('policy - a rule without actions or connections matches every action', () => {
  const p = policy([{ name: 'everything', decision: 'allow', when: '"developers" in principal.groups' }]);
  assert.equal(p.decide(principal, act('registry.push', 'reg')).rule, 'everything');
});

test('policy - CEL over groups, claims, ci and attributes', () => {
  const cases: Array<[string, PolicyAction, boolean]> = [
    ['"release" in principal.groups', act('git.push'), true],
    ['"admins" in principal.groups', act('git.push'), false],
    ['principal.claims.repository_owner == "acme"', act('git.push'), true],
    ['principal.claims.run_number > 40', act('git.push'), true],
    ['principal.claims.nested.team == "platform"', act('git.push'), true],
    ['principal.ci.repository == "acme/app" && principal.ci.ref.startsWith("refs/heads/")', act('git.push'), true],
    ['principal.ci.provider == "gitlab-ci"', act('git.push'), false],
    ['attrs.path.startsWith("/repos/acme/")', act('http.get', 'github', { path: '/repos/acme/app/issues', method: 'GET' }), true],
    ['action.attributes.method == "GET" && action.kind == "http.get" && action.connection == "github"', act('http.get', 'github', { method: 'GET' }), true],
    ['attrs.ref.matches("^refs/tags/v[0-9]+")', act('git.tag_create', 'github', { ref: 'refs/tags/v1.2.0' }), true],
    ['principal.groups.exists(g, g.startsWith("rel"))', act('git.push'), true],
    ['has(attrs.ref)', act('git.push'), false],
    ['size(attrs.refs) == 2', act('git.push', 'github', { refs: ['a', 'b'] }), true],
    ['attrs.ref.lowerAscii() == "main"', act('git.push', 'github', { ref: 'MAIN' }), true],
  ];
  for (const [when, action, expected] of cases) {
    const d = policy([{ name: 'r', when, decision: 'allow' }]).decide(principal, action);
    assert.equal(d.effect === 'allow', expected, `${when} should be ${expected}`);
  }
});

test('policy - an allow whose condition errors does not match (fail closed)', () => {
  const p = policy([
    { name: 'allow-main', actions: ['git.push'], when: 'attrs.ref == "refs/heads/main"', decision: 'allow' },
    { name: 'fallback-review', actions: ['git.push'], decision: 'review' },
  ]);
  // attrs.ref is absent: evaluation error → the allow is skipped, the next rule decides.
  const d = p.decide(principal, act('git.push'));
  assert.equal(d.rule, 'fallback-review');
  assert.equal(p.decide(principal, act('git.push', 'github', { ref: 'refs/heads/main' })).effect, 'allow');
});

test('policy - a deny or review whose condition errors matches (fail closed)', () => {
  const p = policy(
    [
      { name: 'deny-protected', actions: ['git.*'], when: 'attrs.ref in ["refs/heads/main"]', decision: 'deny', reason: 'protected' },
      { name: 'review-env', actions: ['http.*'], when: 'principal.ci.environment == "prod"', decision: 'review' },
      { name: 'allow-rest', decision: 'allow' },
    ],
    'deny',
  );
  const d = p.decide(principal, act('git.push'));
  assert.equal(d.effect, 'deny');
  assert.equal(d.rule, 'deny-protected');
  assert.equal(d.reason, 'protected');
  assert.ok(d.evaluationError && d.evaluationError.length > 0);
  // principal.ci.environment is absent for this principal.
  assert.equal(p.decide(principal, act('http.get')).effect, 'review');
  assert.equal(p.decide(principal, act('git.push', 'github', { ref: 'refs/heads/dev' })).rule, 'allow-rest');
});

test('policy - a condition that is not a bool at run time is an evaluation error', () => {
  const p = policy(
    [
      { name: 'allow-odd', when: 'attrs.flag', decision: 'allow' },
      { name: 'deny-odd', when: 'attrs.flag', decision: 'deny' },
    ],
    'allow',
  );
  const d = p.decide(principal, act('http.get', 'github', { flag: 'yes' }));
  assert.equal(d.rule, 'deny-odd');
  assert.match(d.evaluationError ?? '', /not a bool/);
  assert.equal(p.decide(principal, act('http.get', 'github', { flag: true })).rule, 'allow-odd');
});

test('policy - hostile attributes (cycles, undefined, functions) never throw out of decide', () => {
  const cyclic: Record<string, unknown> = { a: 1, u: undefined, f: () => 1 };
  cyclic['self'] = cyclic;
  const p = policy([{ name: 'allow-a', when: 'attrs.a == 1', decision: 'allow' }]);
  assert.equal(p.decide(principal, act('http.get', 'github', cyclic)).effect, 'allow');
});

test('policy - a bad rule stops compilation with a message naming it', () => {
  const bad: Array<[Rule, RegExp]> = [
    [{ name: 'no-force-push', when: 'attrs.ref ==', decision: 'deny' }, /policy\.rules\[1\] "no-force-push": when: CEL parse error/],
    [{ name: 'typo', when: '"x" in principle.groups', decision: 'allow' }, /policy\.rules\[1\] "typo": when: undeclared reference "principle"/],
    [{ name: 'fn', when: 'isAdmin(principal)', decision: 'allow' }, /"fn": when: unknown function "isAdmin"/],
    [{ name: 'not-bool', when: 'size(principal.groups)', decision: 'allow' }, /"not-bool": when: CEL type error: .*not a bool/],
    [{ name: 'type', when: 'principal.ci.run > 5', decision: 'deny' }, /"type": when: CEL type error: .*no matching overload/],
    [{ name: 'glob', actions: ['git.[pf]ush'], decision: 'deny' }, /policy\.rules\[1\] "glob": actions: glob "git\.\[pf\]ush"/],
  ];
  for (const [rule, re] of bad) {
    assert.throws(
      () => policy([{ name: 'ok', decision: 'allow', actions: ['http.get'] }, rule]),
      (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'ERR_POLICY_RULE');
        assert.match((err as Error).message, re);
        return true;
      },
    );
  }
});

test('policy - rules naming an unknown connection are refused when connections are given', () => {
  assert.throws(() => compilePolicy({ rules: [{ name: 'r', connections: ['gitlab'], decision: 'allow' }], default: 'deny' }, { connections: ['github'] }), {
    code: 'ERR_POLICY_RULE',
    message: /"r": connections: names no configured connection \("gitlab"\)/,
  });
});

test('policy - certainDenial: denied whatever the missing attributes hold, else undefined', () => {
  const p = policy([
    { name: 'no-delete-tools', actions: ['mcp.tools.call'], when: "attrs.tool.startsWith('delete_')", decision: 'deny', reason: 'no deletions' },
    { name: 'merge-main-review', actions: ['mcp.tools.call'], when: "attrs.tool == 'merge' && attrs.arguments.base == 'main'", decision: 'review' },
    { name: 'no-prod-deploy', actions: ['mcp.tools.call'], when: "attrs.tool == 'deploy' && attrs.arguments.env == 'prod'", decision: 'deny' },
    { name: 'safe-wipe', actions: ['mcp.tools.call'], when: "attrs.tool == 'wipe' && attrs.arguments.dry_run == true", decision: 'allow' },
    { name: 'tools-ok', actions: ['mcp.tools.call'], when: "attrs.tool in ['merge', 'deploy', 'read']", decision: 'allow' },
  ]);
  const call = (tool: string) => act('mcp.tools.call', 'tools', { tool });
  // No condition on the arguments: denied for certain, by that rule.
  assert.equal(p.certainDenial(principal, call('delete_repo'))?.rule, 'no-delete-tools');
  // A review that depends on the arguments may apply: not certain.
  assert.equal(p.certainDenial(principal, call('merge')), undefined);
  // A deny on some arguments, an allow after it: not certain.
  assert.equal(p.certainDenial(principal, call('deploy')), undefined);
  // An allow on some arguments before the default deny: not certain.
  assert.equal(p.certainDenial(principal, call('wipe')), undefined);
  // Allowed outright: not denied.
  assert.equal(p.certainDenial(principal, call('read')), undefined);
  // Nothing can match: the default deny, for certain.
  assert.deepEqual(p.certainDenial(principal, call('format_disk')), { effect: 'deny', rule: null, reason: 'denied by the policy default' });
  // The real decision of a call with arguments still decides: certainDenial never allows anything.
  assert.equal(p.decide(principal, act('mcp.tools.call', 'tools', { tool: 'deploy', arguments: { env: 'prod' } })).rule, 'no-prod-deploy');
});
