import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Gitlab } from '@gitbeaker/rest';
import { type Gateway, startGateway } from '@agentgate/cli';
import { loadConfig } from '@agentgate/config';
import { type CiIssuer, freePort, gitlabClaims, startCiIssuer, type TempDir, tempDir } from '@agentgate/testkit';
import { actionOf, auditDocs, eventually, gatewayConfigHead } from './ci-harness.js';
import { type GitlabDouble, startGitlabDouble } from './gitlab-double.js';

/**
 * GitLab's dangerous API calls through the gateway with a real client
 * (@gitbeaker/rest, authenticating with the job's id token as its OAuth
 * bearer) against a local double of the GitLab REST API (no GitLab instance
 * can run here): unprotecting a branch, deleting the project and writing a
 * CI variable are refused by policy with their rule in the client's error and
 * on the record, and never reach the API; reads go through with the gateway's
 * PRIVATE-TOKEN, which the client never sees.
 */
const PROJECT = 4242;
const credential = `glpat-${randomBytes(10).toString('hex')}`;
let dir: TempDir;
let double: GitlabDouble;
let issuer: CiIssuer;
let gateway: Gateway;
let api: InstanceType<typeof Gitlab>;
let token: string;
/** Every byte the client saw: error messages, bodies, causes. */
const seen: string[] = [];

/** Runs a client call that policy must refuse; returns what the client's error says. */
async function refused(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    const e = err as Error & { cause?: { description?: unknown; response?: { status?: number } } };
    const text = `${e.message} ${JSON.stringify(e.cause?.description ?? '')} ${e.cause?.response?.status ?? ''}`;
    seen.push(text);
    return text;
  }
  assert.fail('the call was not refused');
}

describe('forge - GitLab API calls through the gateway (@gitbeaker/rest)', () => {
  before(async () => {
    dir = tempDir('forge-gitlab');
    double = await startGitlabDouble({ credential, projects: [{ id: PROJECT, path: 'acme/app' }] });
    issuer = await startCiIssuer();
    const port = await freePort();
    const config = loadConfig({
      env: {},
      text: `
${gatewayConfigHead(port, dir.path)}
    - { name: gl, issuer: ${issuer.issuer}, audiences: [agentgate], profile: gitlab-ci, algorithms: [RS256] }
connections:
  - { name: gitlab, type: http, upstream: '${double.url}', credential: { ref: gl-token, inject: header, header: PRIVATE-TOKEN }, options: { forge: gitlab } }
secrets:
  - { ref: gl-token, source: env, env: FORGE_GITLAB_TEST_TOKEN }
audit: { sinks: [{ type: local, path: ${dir.path}/audit }] }
policy:
  default: deny
  rules:
    - { name: no-protection-removal, actions: [forge.branch_protection_delete], decision: deny, reason: an agent never removes branch protection }
    - { name: no-project-deletion, actions: [forge.repo_delete], decision: deny, reason: projects are deleted by people }
    - { name: no-ci-variables, actions: [forge.ci_variable_write], decision: deny, reason: agents do not write CI variables }
    - { name: api-ok, actions: ['http.*'], decision: allow }
`,
    });
    process.env.FORGE_GITLAB_TEST_TOKEN = credential;
    gateway = await startGateway(config);
    token = await issuer.mint(gitlabClaims({ project_path: 'acme/app', job_id: '77' }), { audience: 'agentgate' });
    api = new Gitlab({ host: `${gateway.url}/gitlab`, oauthToken: token });
  });

  after(async () => {
    for (const text of seen) assert.equal(text.includes(credential), false, 'the client saw the brokered credential');
    await gateway?.stop();
    await issuer?.close();
    await double?.close();
    dir?.cleanup();
  });

  it("a read goes through with the gateway's PRIVATE-TOKEN; the API never sees the job's token", async () => {
    const project = await api.Projects.show(PROJECT);
    seen.push(JSON.stringify(project));
    assert.equal(project.path_with_namespace, 'acme/app');
    const reqs = double.requests.filter((r) => r.method === 'GET');
    assert.ok(reqs.length > 0);
    for (const r of double.requests) {
      assert.equal(r.token, credential);
      assert.equal((r.authorization ?? '').includes(token), false, 'the job token reached the API');
    }
  });

  it("unprotecting main is refused with its rule in the client's error, and main stays protected", async () => {
    const text = await refused(() => api.ProtectedBranches.unprotect(PROJECT, 'main'));
    assert.match(text, /403/);
    assert.match(text, /no-protection-removal|never removes branch protection/);
    assert.equal(double.protectedBranches.get(String(PROJECT))?.has('main'), true);
    assert.equal(
      double.requests.some((r) => r.method === 'DELETE'),
      false,
    );
    const doc = await eventually('the denial on the record', () =>
      auditDocs(join(dir.path, 'audit')).find((d) => actionOf(d) === 'forge.branch_protection_delete'),
    );
    assert.equal((doc.rule as { name?: string }).name, 'no-protection-removal');
    const attrs = JSON.stringify(doc);
    assert.match(attrs, /"main"/);
  });

  it('deleting the project is refused and the project still exists', async () => {
    const text = await refused(() => api.Projects.remove(PROJECT));
    assert.match(text, /no-project-deletion|deleted by people/);
    assert.ok(double.projects.has(String(PROJECT)));
    await eventually('the project deletion on the record', () => auditDocs(join(dir.path, 'audit')).find((d) => actionOf(d) === 'forge.repo_delete'));
  });

  it('writing a CI variable is refused; the variable never reaches the API', async () => {
    const text = await refused(() => api.ProjectVariables.create(PROJECT, 'DEPLOY_KEY', 'value-from-agent'));
    assert.match(text, /no-ci-variables|do not write CI variables/);
    assert.equal(double.variables.get(String(PROJECT))?.size, 0);
    const doc = await eventually('the variable write on the record', () =>
      auditDocs(join(dir.path, 'audit')).find((d) => actionOf(d) === 'forge.ci_variable_write'),
    );
    assert.match(JSON.stringify(doc), /DEPLOY_KEY/);
    assert.equal(JSON.stringify(doc).includes(credential), false);
  });
});
