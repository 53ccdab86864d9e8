import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { githubClaims, gitlabClaims, startOidcProvider, type OidcProvider } from '@agentgate/testkit';
import { IdentityVerifier } from '../src/index.js';
import { configFor, type Issuers, startIssuers } from './helpers.js';

describe('identity principal', () => {
  let iss: Issuers;
  let op: OidcProvider;
  before(async () => {
    iss = await startIssuers();
    op = await startOidcProvider({ extraClaims: { groups: ['platform', 'ci'] } });
  });
  after(async () => {
    await iss.close();
    await op.close();
  });

  test('principal - GitHub-style token maps to principal, groups and session id', async () => {
    const v = new IdentityVerifier(configFor(iss));
    const token = await iss.gh.mint(githubClaims({ environment: 'prod' }));
    const p = await v.verify(token);
    const host = new URL(iss.gh.issuer).host;
    assert.equal(p.issuer, iss.gh.issuer);
    assert.equal(p.subject, 'repo:acme/app:ref:refs/heads/main');
    assert.deepEqual(p.groups, ['acme-ci', 'release-bots']);
    assert.equal(p.sessionId, `gh:${host}/acme/app:7000000001:1`);
    assert.deepEqual(p.ci, {
      provider: 'github-actions',
      repository: 'acme/app',
      ref: 'refs/heads/main',
      workflow: 'acme/app/.github/workflows/agent.yml@refs/heads/main',
      run: '7000000001',
      attempt: '1',
      actor: 'octocat',
      environment: 'prod',
    });
    assert.equal(p.claims['repository_owner'], 'acme');
    assert.equal(p.claims['run_attempt'], '1');
    assert.equal(p.claims['actor_id'], '583231');
    assert.equal(p.claims['sha'], 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678');
    // Claims not relevant to policy/audit are not copied.
    assert.equal(p.claims['runner_environment'], undefined);
    assert.ok(p.expiresAt > Date.now() / 1000 && p.expiresAt < Date.now() / 1000 + 3600, 'expiresAt in epoch seconds');
    assert.ok(Object.isFrozen(p));
  });

  test('principal - a re-run attempt and another run get their own session ids', async () => {
    const v = new IdentityVerifier(configFor(iss));
    const a = await v.verify(await iss.gh.mint(githubClaims()));
    const b = await v.verify(await iss.gh.mint(githubClaims({ run_attempt: '2' })));
    const c = await v.verify(await iss.gh.mint(githubClaims({ run_id: '7000000002' })));
    // Two jobs of the same run attempt share a timeline.
    const d = await v.verify(await iss.gh.mint(githubClaims({ job_workflow_ref: 'acme/app/.github/workflows/other.yml@refs/heads/main' })));
    assert.notEqual(a.sessionId, b.sessionId);
    assert.notEqual(a.sessionId, c.sessionId);
    assert.equal(a.sessionId, d.sessionId);
    assert.ok(b.sessionId.endsWith(':7000000001:2'));
  });

  test('principal - feature branch is not in release-bots', async () => {
    const v = new IdentityVerifier(configFor(iss));
    const p = await v.verify(await iss.gh.mint(githubClaims({ ref: 'refs/heads/feature' })));
    assert.deepEqual(p.groups, ['acme-ci']);
  });

  test('principal - GitLab-style token maps to principal, groups and session id', async () => {
    const v = new IdentityVerifier(configFor(iss));
    const token = await iss.gl.mint(gitlabClaims({ environment: 'staging' }));
    const p = await v.verify(token);
    const host = new URL(iss.gl.issuer).host;
    assert.equal(p.issuer, iss.gl.issuer);
    assert.equal(p.subject, 'project_path:acme/app:ref_type:branch:ref:main');
    assert.deepEqual(p.groups, ['protected-ref']);
    assert.equal(p.sessionId, `gl:${host}/acme/app:1212:3434`);
    assert.deepEqual(p.ci, {
      provider: 'gitlab-ci',
      repository: 'acme/app',
      ref: 'main',
      run: '1212',
      attempt: '3434',
      actor: 'alice',
      environment: 'staging',
    });
    assert.equal(p.claims['ref_protected'], 'true');
    // Four eyes compares the user behind the pipeline (approvals.identityClaims).
    assert.equal(p.claims['user_login'], 'alice');
    assert.equal(p.claims['user_id'], '1');
    // The user's e-mail is personal data the gateway does not need.
    assert.equal(p.claims['user_email'], undefined);
  });

  test('principal - oidc-provider access token maps to a generic principal with its groups claim', async () => {
    const v = new IdentityVerifier({
      issuers: [{ name: 'op', issuer: op.issuer, audiences: [op.audience], profile: 'generic' }],
      groups: [{ name: 'runners', when: { iss: op.issuer, client_id: op.clientId } }],
    });
    const token = await op.getToken();
    const p = await v.verify(token);
    assert.equal(p.issuer, op.issuer);
    assert.equal(p.subject, op.clientId);
    assert.deepEqual(p.groups, ['ci', 'platform', 'runners']);
    assert.equal(p.ci.provider, 'generic');
    assert.equal(p.ci.actor, op.clientId);
    assert.match(p.sessionId, new RegExp(`^oidc:${new URL(op.issuer).host}:${op.clientId}:.+`));
    assert.deepEqual(p.claims['groups'], ['platform', 'ci']);
  });
});
