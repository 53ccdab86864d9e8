import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@agentgate/config';
import { type ActionCatalogue, type LintablePolicyConfig, compileIssues, lintPolicy } from './index.js';

const refAttrs = { repo: '', ref: '', refType: '', old: '', new: '', fastForward: '', protected: '' };
/** A small catalogue of the same shape as the proxy's (the policy package does not depend on the proxy). */
const catalogue: ActionCatalogue = [
  {
    type: 'http',
    kinds: [{ kind: 'http.<method>', values: ['http.get', 'http.post', 'http.delete'], summary: '', attrs: { method: '', path: '', query: '' } }],
  },
  {
    type: 'git',
    optionAttrs: { protectedRefs: 'protected' },
    kinds: [
      { kind: 'git.fetch', summary: '', attrs: { repo: '', service: '', phase: '', protocol: '' } },
      ...['git.push', 'git.force_push', 'git.tag_move', 'git.tag_delete'].map((kind) => ({ kind, summary: '', attrs: refAttrs })),
    ],
  },
];

type Rule = LintablePolicyConfig['policy']['rules'][number];

/** A real configuration (through the schema, so defaults follow it) with these rules. */
function config(rules: Rule[], protectedRefs: string[] = []): LintablePolicyConfig {
  const base = loadConfig({
    path: 'lint-test.yaml',
    env: {},
    text: [
      'connections:',
      '  - { name: api, type: http, upstream: https://api.example }',
      `  - { name: gh, type: git, upstream: https://git.example, options: { protectedRefs: ${JSON.stringify(protectedRefs)} } }`,
      '',
    ].join('\n'),
  });
  return { connections: base.connections, policy: { default: 'deny', rules } } as LintablePolicyConfig;
}

const paths = (c: LintablePolicyConfig) => lintPolicy(c, catalogue).map((i) => i.path);

describe('policy lint', () => {
  it('lint - a sound policy has no finding', () => {
    const c = config(
      [
        { name: 'tags', connections: ['gh'], actions: ['git.tag_*'], when: 'attrs.protected', decision: 'deny' },
        { name: 'git', connections: ['gh'], actions: ['git.*'], decision: 'allow' },
        { name: 'api', actions: ['http.get'], when: "attrs.path.startsWith('/repos/') && has(attrs.query.page)", decision: 'allow' },
        { name: 'all', when: "'ci' in principal.groups", decision: 'allow' },
      ],
      ['refs/tags/*'],
    );
    assert.deepEqual(lintPolicy(c, catalogue), []);
  });

  it('lint - a misspelled kind names no kind of any adapter, with the near miss suggested', () => {
    const issues = lintPolicy(config([{ name: 'tags', actions: ['git.tag_mvoe'], decision: 'deny' }]), catalogue);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.path, 'policy.rules[0].actions[0]');
    assert.match(issues[0]!.message, /"git\.tag_mvoe" names no action kind of any adapter \(did you mean "git\.tag_move"\?\)/);
  });

  it('lint - a glob that matches no kind is reported; one that matches only another connection type is too', () => {
    assert.deepEqual(paths(config([{ name: 'x', actions: ['gti.*', 'kubernetes.delete'], decision: 'deny' }])), [
      'policy.rules[0].actions[0]',
      'policy.rules[0].actions[1]',
    ]);
    const wrong = lintPolicy(config([{ name: 'x', connections: ['api'], actions: ['http.get', 'git.*'], decision: 'allow' }]), catalogue);
    assert.deepEqual(
      wrong.map((i) => i.path),
      ['policy.rules[0].actions[1]'],
    );
    assert.match(wrong[0]!.message, /matches no action kind of the adapters of this rule's connections \(api: http\)/);
  });

  it('lint - an attribute no matched kind carries is reported (attrs.x, attrs["x"], action.attributes.x, has(), in)', () => {
    const c = config([
      { name: 'a', actions: ['git.tag_move'], when: 'attrs.protcted', decision: 'deny' },
      { name: 'b', actions: ['git.fetch'], when: "attrs['protected']", decision: 'deny' },
      { name: 'c', actions: ['http.*'], when: 'has(action.attributes.ref)', decision: 'deny' },
      { name: 'd', actions: ['http.get'], when: "'model' in attrs", decision: 'deny' },
    ]);
    const issues = lintPolicy(c, catalogue);
    assert.deepEqual(
      issues.map((i) => i.path),
      ['policy.rules[0].when', 'policy.rules[1].when', 'policy.rules[2].when', 'policy.rules[3].when'],
    );
    assert.match(issues[0]!.message, /attrs\.protcted is not an attribute of any action kind this rule matches .*\(did you mean "protected"\?\)/);
  });

  it('lint - an action.kind literal in a condition must be a kind', () => {
    const issues = lintPolicy(
      config([{ name: 'k', when: "action.kind == 'git.forcepush' || action.kind in ['http.get', 'http.gett']", decision: 'deny' }]),
      catalogue,
    );
    assert.deepEqual(
      issues.map((i) => i.message.match(/"([^"]+)", which/)?.[1]),
      ['git.forcepush', 'http.gett'],
    );
  });

  it('lint - protectedRefs that no rule for the connection reads blocks nothing and is reported', () => {
    const unread = config([{ name: 'git', connections: ['gh'], actions: ['git.*'], decision: 'allow' }], ['refs/tags/*']);
    const issues = lintPolicy(unread, catalogue);
    assert.deepEqual(
      issues.map((i) => i.path),
      ['connections[1].options.protectedRefs'],
    );
    assert.match(issues[0]!.message, /no policy rule for this connection reads attrs\.protected: protectedRefs only marks requests, it blocks nothing/);
    // A rule scoped to another connection does not count; an unscoped one does.
    assert.equal(
      paths(config([{ name: 'p', connections: ['api'], when: 'has(attrs.protected)', decision: 'deny' }], ['refs/tags/*'])).includes(
        'connections[1].options.protectedRefs',
      ),
      true,
    );
    assert.deepEqual(paths(config([{ name: 'p', actions: ['git.tag_move'], when: 'attrs.protected', decision: 'deny' }], ['refs/tags/*'])), []);
    // Without protectedRefs nothing is expected to read it.
    assert.deepEqual(paths(config([{ name: 'git', actions: ['git.*'], decision: 'allow' }])), []);
  });

  it('compile issues - every rule that start-up would refuse is named (CEL parse error, bad glob, unknown connection)', () => {
    const c = config([
      { name: 'bad-glob', actions: ['git.{a,b}'], decision: 'deny' },
      { name: 'fine', actions: ['git.*'], decision: 'allow' },
      { name: 'bad-cel', actions: ['git.*'], when: 'attrs.protected &&', decision: 'deny' },
      { name: 'bad-conn', connections: ['nope'], decision: 'deny' },
    ]);
    const issues = compileIssues(c);
    assert.deepEqual(
      issues.map((i) => i.path),
      ['policy.rules[0]', 'policy.rules[2]', 'policy.rules[3]'],
    );
    assert.match(issues[1]!.message, /^"bad-cel": when: CEL parse error/);
    assert.deepEqual(compileIssues(config([{ name: 'ok', when: "attrs.path == '/'", decision: 'allow' }])), []);
  });
});
