import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '@agentgate/config';
import { compilePolicy, formatDecision, parseDescribedAction, testPolicy } from '../src/index.js';

const YAML = `
connections:
  - { name: github, type: git, upstream: https://github.com }
  - { name: api, type: http, upstream: https://api.github.com }
policy:
  rules:
    - name: no-force-push
      connections: [github]
      actions: [git.force_push, git.delete_ref]
      decision: deny
      reason: force-push and ref deletion are not allowed through the gateway
    - name: release-tags
      actions: ['git.tag_*']
      when: '!("release" in principal.groups)'
      decision: review
    - name: main-repo-push
      connections: [github]
      actions: ['git.*']
      when: principal.ci.repository == "acme/app" && attrs.ref.startsWith("refs/heads/")
      decision: allow
    - name: api-read
      connections: [api]
      actions: [http.get, http.head]
      decision: allow
`;

const config = loadConfig({ text: YAML, path: 'agentgate.yaml', env: {} });

test('policy test - a described action from YAML gets the decision and the rule', () => {
  const input = parseDescribedAction(`
principal:
  groups: [developers]
  ci: { provider: github-actions, repository: acme/app }
action:
  kind: git.push
  connection: github
  attributes: { ref: refs/heads/feature }
`);
  const r = testPolicy(config, input);
  assert.deepEqual(r.decision, { effect: 'allow', rule: 'main-repo-push', reason: 'allowed by policy rule "main-repo-push"' });
  assert.equal(r.principal.ci.provider, 'github-actions');
  assert.deepEqual(r.principal.claims, {});
});

test('policy test - JSON input, defaults for a missing principal, deny by default', () => {
  const r = testPolicy(config, parseDescribedAction('{"action":{"kind":"http.post","connection":"api"}}'));
  assert.equal(r.decision.effect, 'deny');
  assert.equal(r.decision.rule, null);
  assert.deepEqual(r.principal.groups, []);
  assert.equal(r.principal.ci.provider, 'generic');
});

test('policy test - review and deny reasons are reported', () => {
  const review = testPolicy(config, { action: { kind: 'git.tag_move', connection: 'github' } });
  assert.deepEqual(review.decision, { effect: 'review', rule: 'release-tags', reason: 'approval required' });
  const deny = testPolicy(config, { action: { kind: 'git.force_push', connection: 'github' } });
  assert.equal(deny.decision.rule, 'no-force-push');
  assert.match(deny.decision.reason, /force-push/);
});

test('policy test - a compiled policy can be passed instead of the configuration', () => {
  const policy = compilePolicy(config.policy);
  assert.equal(testPolicy(policy, { action: { kind: 'http.get', connection: 'api' } }).decision.rule, 'api-read');
});

test('policy test - malformed descriptions are refused with ERR_POLICY_INPUT', () => {
  assert.throws(() => testPolicy(config, { action: { kind: 'git.push' } }), { code: 'ERR_POLICY_INPUT', message: /action\.connection/ });
  assert.throws(() => testPolicy(config, { action: { kind: 'x', connection: 'y' }, extra: 1 }), { code: 'ERR_POLICY_INPUT' });
  assert.throws(() => testPolicy(config, { principal: { ci: { provider: 'jenkins' } }, action: { kind: 'x', connection: 'y' } }), { code: 'ERR_POLICY_INPUT' });
  assert.throws(() => parseDescribedAction('action: [unclosed'), { code: 'ERR_POLICY_INPUT' });
});

test('policy test - a configuration whose rule does not compile names the rule', () => {
  const broken = loadConfig({
    text: 'policy:\n  rules:\n    - { name: api-read, when: "request.method == \'GET\'", decision: allow }\n',
    path: 'agentgate.yaml',
    env: {},
  });
  assert.throws(() => testPolicy(broken, { action: { kind: 'http.get', connection: 'api' } }), {
    code: 'ERR_POLICY_RULE',
    message: /policy\.rules\[0\] "api-read": when: undeclared reference "request"/,
  });
});

test('format - formatDecision prints the decision, the rule (or the default) and the reason', () => {
  const out = formatDecision({ effect: 'deny', rule: 'no-force-push', reason: 'nope' }, { kind: 'git.force_push', connection: 'github', attributes: {} });
  assert.equal(out, 'decision: deny\nrule:     no-force-push\nreason:   nope\naction:   git.force_push on github');
  assert.match(formatDecision({ effect: 'deny', rule: null, reason: 'denied by the policy default' }), /rule: {5}\(none matched: policy default\)/);
  assert.match(
    formatDecision({ effect: 'deny', rule: 'r', reason: 'x', evaluationError: 'field not found: ref' }),
    /error: {4}field not found: ref \(rule applied: fail closed\)/,
  );
});
