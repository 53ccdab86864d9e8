import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { loadConfig } from '@agentgate/config';
import type { ProxyError } from '../../../errors.js';
import type { AdapterRequest, Classification, Connection } from '../../types.js';
import { httpAdapter } from '../index.js';
import { FORGE_BASE_ATTRS, FORGE_KINDS } from './kinds.js';

const config = loadConfig({
  text: `
connections:
  - { name: gh, type: http, upstream: https://api.github.example, options: { forge: github } }
  - { name: gl, type: http, upstream: https://gitlab.example/api/v4, options: { forge: gitlab } }
  - { name: small, type: http, upstream: https://api.github.example, options: { forge: { type: github, maxBodyBytes: 64 } } }
  - { name: plain, type: http, upstream: https://api.github.example }
`,
  env: {},
});
const conn = (name: string) => config.connections.find((c) => c.name === name) as Connection;

function request(connection: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): AdapterRequest {
  const raw = body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return {
    method,
    connection: conn(connection),
    rawPath: path,
    path,
    rawQuery: '',
    query: {},
    headers,
    contentLength: raw.length,
    body: Readable.from(raw.length > 0 ? [raw] : []),
    maxBodyBytes: 1024 * 1024,
    principal: { issuer: 'i', subject: 's', groups: [], claims: {}, ci: { provider: 'generic' }, sessionId: 's', expiresAt: 0 },
  };
}

const classify = async (...args: Parameters<typeof request>): Promise<Classification> => httpAdapter.classify(request(...args));

test('forge github - branch protection removed and changed, with owner, repo, branch and setting', async () => {
  const del = await classify('gh', 'DELETE', '/repos/acme/app/branches/main/protection');
  assert.equal(del.kind, 'forge.branch_protection_delete');
  assert.deepEqual(
    { owner: del.attributes.owner, repo: del.attributes.repo, branch: del.attributes.branch, setting: del.attributes.setting, forge: del.attributes.forge },
    { owner: 'acme', repo: 'app', branch: 'main', setting: 'protection', forge: 'github' },
  );
  const sub = await classify('gh', 'DELETE', '/repos/acme/app/branches/release/1.x/protection/enforce_admins');
  assert.equal(sub.kind, 'forge.branch_protection_delete');
  assert.equal(sub.attributes.branch, 'release/1.x');
  assert.equal(sub.attributes.setting, 'enforce_admins');
  const put = await classify('gh', 'PUT', '/api/v3/repos/acme/app/branches/main/protection', { required_status_checks: null });
  assert.equal(put.kind, 'forge.branch_protection_change');
  const read = await classify('gh', 'GET', '/repos/acme/app/branches/main/protection');
  assert.equal(read.kind, 'http.get');
});

test('forge github - every base attribute is present on every forge action (null when unknown)', async () => {
  const c = await classify('gh', 'DELETE', '/repositories/42');
  assert.equal(c.kind, 'forge.repo_delete');
  for (const k of Object.keys(FORGE_BASE_ATTRS)) assert.ok(Object.hasOwn(c.attributes, k), k);
  assert.equal(c.attributes.owner, null);
  assert.equal(c.attributes.repo, 'id:42');
});

test('forge github - PATCH /repos splits into one action per dangerous field, decided all-or-nothing', async () => {
  const c = await classify('gh', 'PATCH', '/repos/acme/app', { name: 'app2', private: false, default_branch: 'dev', description: 'x' });
  assert.equal(c.kind, 'forge.repo_visibility_change');
  assert.deepEqual(
    c.parts?.actions.map((a) => a.kind),
    ['forge.repo_rename', 'forge.repo_visibility_change', 'forge.default_branch_change'],
  );
  assert.equal(c.parts?.actions[1]?.attributes.visibility, 'public');
  assert.equal(c.parts?.actions[2]?.attributes.branch, 'dev');
  // The body was read to classify: it is forwarded as read.
  assert.ok(Buffer.isBuffer(c.body));
  const refusal = c.parts?.settle([
    { effect: 'allow', rule: 'a', reason: 'ok' },
    { effect: 'deny', rule: 'no-public', reason: 'never public' },
    { effect: 'review', rule: 'r', reason: 'hold' },
  ]).refusal as ProxyError;
  assert.equal(refusal.code, 'ERR_POLICY_DENIED');
  assert.match(refusal.message, /no-public/);
  const harmless = await classify('gh', 'PATCH', '/repos/acme/app', { description: 'x' });
  assert.equal(harmless.kind, 'http.patch');
  assert.ok(Buffer.isBuffer(harmless.body), 'a body read for nothing is still forwarded');
});

test('forge github - secrets, variables, workflow files, keys, hooks, collaborators, teams, releases, transfer, rulesets', async () => {
  const cases: Array<[string, string, unknown, string, Record<string, unknown>]> = [
    [
      'PUT',
      '/repos/acme/app/actions/secrets/NPM_TOKEN',
      { encrypted_value: 'x', key_id: '1' },
      'forge.ci_secret_write',
      { setting: 'NPM_TOKEN', scope: 'repository', store: 'actions' },
    ],
    [
      'DELETE',
      '/repos/acme/app/environments/prod/secrets/KEY',
      undefined,
      'forge.ci_secret_write',
      { scope: 'environment', environment: 'prod', operation: 'delete' },
    ],
    ['PUT', '/orgs/acme/actions/secrets/ORG_KEY', {}, 'forge.ci_secret_write', { owner: 'acme', scope: 'organization' }],
    [
      'POST',
      '/repos/acme/app/actions/variables',
      { name: 'DEPLOY_URL', value: 'x' },
      'forge.ci_variable_write',
      { setting: 'DEPLOY_URL', operation: 'create' },
    ],
    [
      'PUT',
      '/repos/acme/app/contents/.github/workflows/ci.yml',
      { message: 'm', content: 'eA==', branch: 'main', sha: 'abc' },
      'forge.workflow_change',
      { setting: '.github/workflows/ci.yml', branch: 'main', operation: 'update' },
    ],
    ['PUT', '/repos/acme/app/contents/.GitHub//Workflows/x.yml', { message: 'm', content: 'eA==' }, 'forge.workflow_change', { operation: 'create' }],
    ['POST', '/repos/acme/app/keys', { title: 'k', key: 'ssh-ed25519 AAA' }, 'forge.deploy_key_add', { readOnly: false }],
    ['POST', '/repos/acme/app/hooks', { config: { url: 'https://evil.example/h' } }, 'forge.webhook_add', { url: 'https://evil.example/h' }],
    ['PATCH', '/repos/acme/app/hooks/7/config', { url: 'https://evil.example/h' }, 'forge.webhook_change', { url: 'https://evil.example/h' }],
    [
      'PUT',
      '/repos/acme/app/collaborators/mallory',
      { permission: 'admin' },
      'forge.permission_change',
      { target: 'user', name: 'mallory', permission: 'admin' },
    ],
    [
      'PUT',
      '/orgs/acme/teams/ops/repos/acme/app',
      { permission: 'maintain' },
      'forge.permission_change',
      { target: 'team', name: 'ops', permission: 'maintain' },
    ],
    ['DELETE', '/repos/acme/app/releases/12', undefined, 'forge.release_delete', { target: 'release' }],
    ['DELETE', '/repos/acme/app/releases/assets/3', undefined, 'forge.release_delete', { target: 'asset' }],
    ['POST', '/repos/acme/app/transfer', { new_owner: 'evil' }, 'forge.repo_transfer', { newOwner: 'evil' }],
    ['DELETE', '/repos/acme/app/rulesets/5', undefined, 'forge.ruleset_delete', { rulesetId: '5' }],
    ['PUT', '/repos/acme/app/rulesets/5', {}, 'forge.ruleset_change', { operation: 'update' }],
    ['DELETE', '/repos/acme/app', undefined, 'forge.repo_delete', {}],
  ];
  for (const [method, path, body, kind, attrs] of cases) {
    const c = await classify('gh', method, path, body);
    assert.equal(c.kind, kind, `${method} ${path}`);
    for (const [k, v] of Object.entries(attrs)) assert.deepEqual(c.attributes[k], v, `${method} ${path} ${k}`);
  }
  assert.equal((await classify('gh', 'PUT', '/repos/acme/app/contents/README.md', { content: 'eA==' })).kind, 'http.put');
});

test('forge github - refs through the API: tags move, deletions, unforced updates, and forced ones without a mirror fail closed', async () => {
  assert.equal((await classify('gh', 'DELETE', '/repos/acme/app/git/refs/heads/main')).kind, 'forge.ref_delete');
  assert.equal((await classify('gh', 'DELETE', '/repos/acme/app/git/refs/tags/v1')).kind, 'forge.tag_delete');
  assert.equal((await classify('gh', 'PATCH', '/repos/acme/app/git/refs/tags/v1', { sha: 'a'.repeat(40), force: false })).kind, 'forge.tag_move');
  const plain = await classify('gh', 'PATCH', '/repos/acme/app/git/refs/heads/main', { sha: 'a'.repeat(40) });
  assert.equal(plain.kind, 'forge.ref_update');
  assert.equal(plain.attributes.ref, 'refs/heads/main');
  for (const force of [true, 'true', 1, null]) {
    const c = await classify('gh', 'PATCH', '/repos/acme/app/git/refs/heads/main', { sha: 'a'.repeat(40), force });
    assert.equal(c.kind, 'forge.ref_force_update', `force ${JSON.stringify(force)}`);
    assert.equal(c.attributes.fastForward, false);
  }
});

test('forge github - GraphQL mutations by field (aliases, fragments, variables), never by operation name; queries stay http', async () => {
  const q = (query: string, variables?: unknown) => classify('gh', 'POST', '/graphql', { query, variables });
  const del = await q('mutation Innocent($id: ID!) { ok: deleteBranchProtectionRule(input: {branchProtectionRuleId: $id}) { clientMutationId } }', {
    id: 'BPR_1',
  });
  assert.equal(del.kind, 'forge.branch_protection_delete');
  assert.equal(del.attributes.api, 'graphql');
  assert.equal(del.attributes.mutation, 'deleteBranchProtectionRule');
  const frag = await q('mutation { ...M } fragment M on Mutation { ... on Mutation { updateRef(input: $in) { clientMutationId } } }', {});
  assert.equal(frag.kind, 'forge.ref_update');
  const forced = await q('mutation($in: UpdateRefInput!) { updateRef(input: $in) { clientMutationId } }', {
    in: { refId: 'R', oid: 'b'.repeat(40), force: true },
  });
  assert.equal(forced.kind, 'forge.ref_force_update');
  const wf = await q('mutation($i: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $i) { commit { oid } } }', {
    i: {
      branch: { repositoryNameWithOwner: 'acme/app', branchName: 'main' },
      fileChanges: { additions: [{ path: '.github/workflows/x.yml', contents: 'eA==' }] },
      expectedHeadOid: 'c'.repeat(40),
    },
  });
  assert.equal(wf.kind, 'forge.workflow_change');
  assert.deepEqual([wf.attributes.owner, wf.attributes.repo, wf.attributes.branch], ['acme', 'app', 'main']);
  const two = await q('mutation { a: addStar(input: {starrableId: "x"}) { clientMutationId } b: deleteRef(input: {refId: "r"}) { clientMutationId } }');
  assert.equal(two.kind, 'forge.ref_delete');
  assert.deepEqual(
    two.parts?.actions.map((a) => a.kind),
    ['forge.graphql_mutation', 'forge.ref_delete'],
  );
  assert.equal((await q('query { viewer { login } }')).kind, 'http.post');
  await assert.rejects(q('mutation { deleteRef(input: {refId: "r"}'), { code: 'ERR_BAD_REQUEST' });
  await assert.rejects(classify('gh', 'POST', '/graphql', '{not json'), { code: 'ERR_BAD_REQUEST' });
});

test('forge github - GraphQL updateRefs: one part per ref, an all-zero afterOid deletes, an empty list is a generic mutation', async () => {
  const q = (variables: unknown) =>
    classify('gh', 'POST', '/graphql', { query: 'mutation($in: UpdateRefsInput!) { updateRefs(input: $in) { clientMutationId } }', variables });
  const c = await q({
    in: {
      repositoryId: 'R',
      refUpdates: [
        { name: 'refs/heads/old', afterOid: '0'.repeat(40) },
        { name: 'refs/heads/main', afterOid: 'b'.repeat(40), force: false },
      ],
    },
  });
  assert.deepEqual(
    c.parts?.actions.map((a) => [a.kind, a.attributes.setting]),
    [
      ['forge.ref_delete', 'refs/heads/old'],
      ['forge.ref_update', 'refs/heads/main'],
    ],
  );
  assert.equal((await q({ in: { repositoryId: 'R', refUpdates: [] } })).kind, 'forge.graphql_mutation');
});

test('forge - bodies the classification depends on are bounded and must be plain', async () => {
  await assert.rejects(classify('small', 'PATCH', '/repos/acme/app', { description: 'x'.repeat(100) }), { code: 'ERR_BODY_TOO_LARGE' });
  await assert.rejects(classify('gh', 'PATCH', '/repos/acme/app', { name: 'x' }, { 'content-encoding': 'gzip' }), { code: 'ERR_BAD_REQUEST' });
  // Not a forge connection: nothing is read or named.
  const plain = await classify('plain', 'DELETE', '/repos/acme/app/branches/main/protection');
  assert.equal(plain.kind, 'http.delete');
  assert.equal(plain.body, undefined);
});

test('forge gitlab - protected branches, project deletion and settings, CI variables and files, members, branch deletion', async () => {
  const cases: Array<[string, string, unknown, string, Record<string, unknown>]> = [
    ['DELETE', '/projects/42/protected_branches/main', undefined, 'forge.branch_protection_delete', { repo: '42', branch: 'main' }],
    ['POST', '/api/v4/projects/42/protected_branches', { name: 'main', push_access_level: 40 }, 'forge.branch_protection_change', { branch: 'main' }],
    ['DELETE', '/projects/42', undefined, 'forge.repo_delete', {}],
    ['PUT', '/projects/42', { visibility: 'public' }, 'forge.repo_visibility_change', { visibility: 'public' }],
    ['PUT', '/projects/42/transfer', { namespace: 'evil' }, 'forge.repo_transfer', { newOwner: 'evil' }],
    ['POST', '/projects/42/variables', { key: 'AWS_KEY', value: 'x', masked: true }, 'forge.ci_variable_write', { setting: 'AWS_KEY', operation: 'create' }],
    ['PUT', '/groups/acme/variables/K', { value: 'x' }, 'forge.ci_variable_write', { owner: 'acme', scope: 'group' }],
    ['PUT', '/projects/42/repository/files/.gitlab-ci.yml', { branch: 'main', content: 'x' }, 'forge.workflow_change', { branch: 'main' }],
    [
      'POST',
      '/projects/42/repository/commits',
      { branch: 'main', actions: [{ action: 'update', file_path: '.gitlab-ci.yml' }] },
      'forge.workflow_change',
      { setting: '.gitlab-ci.yml' },
    ],
    ['POST', '/projects/42/deploy_keys', { title: 'k', can_push: true }, 'forge.deploy_key_add', { readOnly: false }],
    ['PUT', '/projects/42/members/7', { access_level: 50 }, 'forge.permission_change', { name: '7', permission: '50' }],
    ['DELETE', '/projects/42/repository/branches/main', undefined, 'forge.ref_delete', { ref: 'refs/heads/main' }],
    ['DELETE', '/projects/42/releases/v1', undefined, 'forge.release_delete', {}],
  ];
  for (const [method, path, body, kind, attrs] of cases) {
    const c = await classify('gl', method, path, body);
    assert.equal(c.kind, kind, `${method} ${path}`);
    assert.equal(c.attributes.forge, 'gitlab');
    for (const [k, v] of Object.entries(attrs)) assert.deepEqual(c.attributes[k], v, `${method} ${path} ${k}`);
  }
  assert.equal((await classify('gl', 'POST', '/projects/42/repository/commits', { branch: 'main', actions: [{ file_path: 'src/a.ts' }] })).kind, 'http.post');
});

test('forge github - each repository and organisation route family names its writes and lets other methods through', async () => {
  const cases: Array<[string, string, unknown, string, Record<string, unknown>]> = [
    ['PATCH', '/repos/acme/app/invitations/3', { permissions: 'admin' }, 'forge.permission_change', { target: 'invitation', name: '3', permission: 'admin' }],
    ['DELETE', '/repos/acme/app/collaborators/m', undefined, 'forge.permission_change', { operation: 'delete', permission: null }],
    ['PATCH', '/repos/acme/app/actions/variables/V', {}, 'forge.ci_variable_write', { setting: 'V', operation: 'update', scope: 'repository' }],
    [
      'DELETE',
      '/repos/acme/app/environments/prod/variables/V',
      undefined,
      'forge.ci_variable_write',
      { operation: 'delete', scope: 'environment', environment: 'prod' },
    ],
    ['PUT', '/repos/acme/app/dependabot/secrets/S', {}, 'forge.ci_secret_write', { store: 'dependabot' }],
    ['PATCH', '/repos/acme/app/hooks/7', { config: { url: 'https://h.example' } }, 'forge.webhook_change', { setting: 'webhook 7', url: 'https://h.example' }],
    ['POST', '/repos/acme/app/rulesets', {}, 'forge.ruleset_change', { operation: 'create', rulesetId: null }],
    ['PATCH', '/repos/acme/app/rulesets/5', {}, 'forge.ruleset_change', { operation: 'update' }],
    ['POST', '/orgs/acme/actions/variables', { name: 'ORG_V' }, 'forge.ci_variable_write', { setting: 'ORG_V', scope: 'organization' }],
    ['PUT', '/orgs/acme/codespaces/secrets/S', {}, 'forge.ci_secret_write', { store: 'codespaces', scope: 'organization' }],
    ['PUT', '/orgs/acme/rulesets/4', {}, 'forge.ruleset_change', { operation: 'update', owner: 'acme', repo: null }],
    ['POST', '/orgs/acme/hooks', { config: { url: 'https://h.example' } }, 'forge.webhook_add', { owner: 'acme' }],
    ['DELETE', '/teams/9/repos/acme/app', undefined, 'forge.permission_change', { name: 'id:9', operation: 'delete' }],
  ];
  for (const [method, path, body, kind, attrs] of cases) {
    const c = await classify('gh', method, path, body);
    assert.equal(c.kind, kind, `${method} ${path}`);
    for (const [k, v] of Object.entries(attrs)) assert.deepEqual(c.attributes[k], v, `${method} ${path} ${k}`);
  }
  // A family's path with a method it does not name stays a plain http action.
  for (const [method, path] of [
    ['POST', '/repos/acme/app/actions/secrets/S'],
    ['PATCH', '/orgs/acme/rulesets/4'],
    ['DELETE', '/repos/acme/app/rulesets'],
    ['POST', '/repos/acme/app/actions/variables/V'],
    ['PUT', '/repos/acme/app/invitations/3'],
  ]) {
    assert.equal((await classify('gh', method as string, path as string, {})).kind, `http.${(method as string).toLowerCase()}`, `${method} ${path}`);
  }
});

test('forge gitlab - archive, protected tags, deploy key enabling, hooks, members, shares, tag deletion; release assets stay http', async () => {
  const cases: Array<[string, string, unknown, string, Record<string, unknown>]> = [
    ['POST', '/projects/42/archive', undefined, 'forge.repo_archive', { archived: true }],
    ['POST', '/projects/42/unarchive', undefined, 'forge.repo_archive', { archived: false }],
    ['PATCH', '/projects/42/protected_tags/v1', undefined, 'forge.branch_protection_change', { setting: 'protected_tag', branch: 'v1', operation: 'update' }],
    ['POST', '/projects/42/deploy_keys/4/enable', undefined, 'forge.deploy_key_add', { setting: 'deploy key 4', readOnly: null }],
    ['POST', '/projects/42/hooks', { url: 'https://h.example' }, 'forge.webhook_add', { url: 'https://h.example' }],
    ['PUT', '/projects/42/hooks/2', { url: 'https://h.example' }, 'forge.webhook_change', { setting: 'webhook 2' }],
    ['POST', '/projects/42/members', { user_id: '5', access_level: '40' }, 'forge.permission_change', { operation: 'create', name: '5', permission: '40' }],
    ['DELETE', '/projects/42/members/7', undefined, 'forge.permission_change', { operation: 'delete', name: '7' }],
    ['POST', '/projects/42/share', { group_id: '3', group_access: '30' }, 'forge.permission_change', { target: 'group', name: '3', permission: '30' }],
    ['DELETE', '/projects/42/share/3', undefined, 'forge.permission_change', { target: 'group', operation: 'delete' }],
    ['DELETE', '/projects/42/repository/tags/v1', undefined, 'forge.tag_delete', { ref: 'refs/tags/v1' }],
    ['DELETE', '/projects/42/variables/K', undefined, 'forge.ci_variable_write', { setting: 'K', operation: 'delete' }],
  ];
  for (const [method, path, body, kind, attrs] of cases) {
    const c = await classify('gl', method, path, body);
    assert.equal(c.kind, kind, `${method} ${path}`);
    for (const [k, v] of Object.entries(attrs)) assert.deepEqual(c.attributes[k], v, `${method} ${path} ${k}`);
  }
  for (const [method, path] of [
    ['DELETE', '/projects/42/releases/v1/assets/links/2'],
    ['PUT', '/projects/42/members'],
    ['DELETE', '/projects/42/protected_branches'],
    ['PUT', '/projects/42/repository/files/README.md'],
  ]) {
    assert.equal((await classify('gl', method as string, path as string, {})).kind, `http.${(method as string).toLowerCase()}`, `${method} ${path}`);
  }
});

test('forge - every kind the classifier produces has a catalogue entry with its attributes', async () => {
  const c = await classify('gh', 'PUT', '/repos/acme/app/collaborators/x', { permission: 'admin' });
  const spec = FORGE_KINDS[c.kind as keyof typeof FORGE_KINDS];
  assert.ok(spec);
  assert.deepEqual(Object.keys(c.attributes).sort(), [...Object.keys(FORGE_BASE_ATTRS), ...Object.keys(spec.attrs)].sort());
});

test('http - refusals carry a top-level message (GitHub/GitLab clients print it) beside the gateway error object', async () => {
  const { ProxyError } = await import('../../../errors.js');
  const r = httpAdapter.renderError?.(new ProxyError('ERR_POLICY_DENIED', 'denied by policy (rule x): no'), { connection: 'gh', requestId: 'r1' });
  const body = JSON.parse(String(r?.body));
  assert.equal(r?.status, 403);
  assert.match(body.message, /rule x/);
  assert.equal(body.error.code, 'ERR_POLICY_DENIED');
});
