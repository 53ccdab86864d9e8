import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Octokit } from '@octokit/rest';
import { loadConfig } from '@agentgate/config';
import type { AuditEvent } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { githubClaims, requireBinary, startCiIssuer, startGitServer, startNats, startTlsFront, tempDir } from '@agentgate/testkit';
import { startProxy } from '../src/index.js';
import { startBackends } from './backends.js';
import { startGithubDouble } from './github-double.js';
import { assertNoSecret, auditEvents } from './harness.js';

/**
 * The forge classification end to end: a local double of the GitHub REST
 * and GraphQL API (no GitHub instance can run here) behind the gateway, with
 * the real `gh` CLI (through a TLS front, as gh wants https for an
 * enterprise host) and @octokit/rest as clients, and a real git server whose
 * bare repositories back the API's refs, so API ref updates are decided by
 * the same ancestry as pushes.
 */
const GIT_USER = 'x-access-token';
const secret = `ghs_${randomBytes(18).toString('hex')}`;
const POLICY = `
policy:
  default: deny
  rules:
    - { name: no-protection-removal, actions: [forge.branch_protection_delete], decision: deny, reason: an agent never removes branch protection }
    - { name: no-history-rewrite, actions: [forge.ref_force_update, forge.ref_delete, forge.tag_move, forge.tag_delete], when: attrs.protected, decision: deny, reason: protected history is never rewritten }
    - { name: no-secrets, actions: [forge.ci_secret_write], decision: deny, reason: agents do not write CI secrets }
    - { name: refs-elsewhere, actions: ['forge.ref_*'], decision: allow }
    - { name: forge-hold, actions: ['forge.*'], decision: review, reason: a human decides repository settings }
    - { name: api-ok, actions: ['http.*'], decision: allow }
    - { name: git-ok, actions: ['git.*'], decision: allow }
`;

let stop: Array<() => Promise<void> | void> = [];
let ctx: {
  gateway: string;
  front: { url: string; host: string; caFile: string };
  token: string;
  double: Awaited<ReturnType<typeof startGithubDouble>>;
  bus: Awaited<ReturnType<typeof startBackends>>['bus'];
  bare: string;
  dir: string;
};
const outputs: string[] = [];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      outputs.push(stdout, stderr);
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

const gitEnv = (dir: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: dir,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'a',
  GIT_AUTHOR_EMAIL: 'a@x.invalid',
  GIT_COMMITTER_NAME: 'a',
  GIT_COMMITTER_EMAIL: 'a@x.invalid',
});

/** A commit on top of `parent` (or a root commit) in the bare repository, returned by sha. */
async function commitIn(bare: string, parent: string | null, message: string): Promise<string> {
  const env = gitEnv(ctx.dir);
  const tree = (await run('git', ['--git-dir', bare, 'hash-object', '-t', 'tree', '-w', '/dev/null'], env)).stdout.trim();
  const r = await run('git', ['--git-dir', bare, 'commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message], env);
  assert.match(r.stdout.trim(), /^[0-9a-f]{40}$/, r.stderr);
  return r.stdout.trim();
}

async function refOf(ref: string): Promise<string> {
  return (await run('git', ['--git-dir', ctx.bare, 'rev-parse', '--verify', '--quiet', ref], gitEnv(ctx.dir))).stdout.trim();
}

async function events(pred: (e: AuditEvent) => boolean): Promise<AuditEvent[]> {
  for (let i = 0; i < 100; i++) {
    const found = (await auditEvents(ctx.bus)).filter(pred);
    if (found.length > 0) return found;
    await new Promise((r) => setTimeout(r, 30));
  }
  return [];
}

before(async () => {
  const tmp = tempDir('forge');
  stop.push(() => tmp.cleanup());
  const nats = await startNats();
  stop.push(() => nats.close());
  const git = await startGitServer({ auth: { username: GIT_USER, password: secret } });
  stop.push(() => git.stop());
  const repo = await git.createRepo('acme/app', { withCommits: 2 });
  const double = await startGithubDouble({ credential: secret, gitRoot: git.root });
  stop.push(() => double.close());
  const issuer = await startCiIssuer({ alg: 'RS256' });
  stop.push(() => issuer.close());
  const text = `
gateway: { name: forge-gateway }
identity:
  issuers:
    - { name: gh, issuer: ${issuer.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
connections:
  - name: github
    type: http
    upstream: ${double.url}/api/v3
    credential: { ref: gh-token, inject: bearer }
    options: { forge: { type: github, git: gh-git } }
  # gh talks to an enterprise host at /api/v3 and /api/graphql: a connection named "api" in front of the API root.
  - name: api
    type: http
    upstream: ${double.url}/api
    credential: { ref: gh-token, inject: bearer }
    options: { forge: { type: github, git: gh-git } }
  - name: gh-git
    type: git
    upstream: ${git.url}
    credential: { ref: gh-token, inject: basic, username: ${GIT_USER} }
    options: { protectedRefs: [refs/heads/main, 'refs/tags/**'], cacheDir: ${join(tmp.path, 'mirrors')} }
secrets:
  - { ref: gh-token, source: env, env: FORGE_TEST_TOKEN }
${POLICY}`;
  const config = loadConfig({ text, env: {} });
  const backends = await startBackends({ natsUrl: nats.url, name: 'forge-test' }, config, { FORGE_TEST_TOKEN: secret });
  stop.push(() => backends.stop());
  const logger = createLogger({ name: 'proxy', level: 'warn', destination: { write: () => {} } });
  const proxy = await startProxy(backends.bus, config, logger, { host: '127.0.0.1', port: 0 });
  stop.push(() => proxy.close());
  const front = await startTlsFront(proxy.url);
  stop.push(() => front.close());
  ctx = {
    gateway: proxy.url,
    front,
    token: await issuer.mint(githubClaims({ repository: 'acme/app' })),
    double,
    bus: backends.bus,
    bare: repo.path,
    dir: tmp.path,
  };
  stop = stop.reverse();
});

after(async () => {
  for (const out of outputs) assertNoSecret(out, secret, 'client output');
  if (ctx) assertNoSecret(JSON.stringify(await auditEvents(ctx.bus)), secret, 'audit events');
  for (const s of stop) await s();
});

function ghEnv(): NodeJS.ProcessEnv {
  const config = join(ctx.dir, 'gh-config');
  mkdirSync(config, { recursive: true });
  return {
    PATH: process.env.PATH,
    HOME: ctx.dir,
    GH_HOST: ctx.front.host,
    GH_ENTERPRISE_TOKEN: ctx.token,
    GH_CONFIG_DIR: config,
    GH_PROMPT_DISABLED: '1',
    GH_NO_UPDATE_NOTIFIER: '1',
    NO_COLOR: '1',
    // gh is a Go program: it trusts the test CA through SSL_CERT_FILE.
    SSL_CERT_FILE: ctx.front.caFile,
  };
}

const octokit = () => new Octokit({ baseUrl: `${ctx.gateway}/github`, auth: ctx.token, request: { retries: 0 } });

describe('forge - gh CLI', () => {
  it('a denied "disable branch protection" shows its rule in gh\'s output and on the record; the API never sees it', async () => {
    const gh = requireBinary('gh', 'apt-get install -y gh (or bash .ci/install-lint.sh)');
    const before = ctx.double.requests.length;
    const r = await run(gh, ['api', '-X', 'DELETE', 'repos/acme/app/branches/main/protection'], ghEnv());
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /rule no-protection-removal/);
    assert.match(r.stderr, /HTTP 403/);
    assert.equal(ctx.double.requests.slice(before).filter((q) => q.method === 'DELETE').length, 0, 'nothing reached the API');
    const [denied] = await events((e) => e.event.action === 'forge.branch_protection_delete' && e.agentgate.action.phase === 'denied');
    assert.ok(denied, 'denied event recorded');
    assert.equal(denied.rule?.name, 'no-protection-removal');
    const attrs = denied.agentgate.action.attributes as Record<string, unknown>;
    assert.deepEqual([attrs.forge, attrs.owner, attrs.repo, attrs.branch, attrs.setting], ['github', 'acme', 'app', 'main', 'protection']);
  });

  it('reads pass (gh api GET), and a GraphQL mutation is decided by its field, not its operation name', async () => {
    const gh = requireBinary('gh', 'apt-get install -y gh');
    const read = await run(gh, ['api', 'repos/acme/app'], ghEnv());
    assert.equal(read.code, 0, read.stderr);
    assert.equal(JSON.parse(read.stdout).full_name, 'acme/app');
    const mut = await run(
      gh,
      [
        'api',
        'graphql',
        '-f',
        'query=mutation HarmlessLookingName { deleteBranchProtectionRule(input: {branchProtectionRuleId: "BPR_1"}) { clientMutationId } }',
      ],
      ghEnv(),
    );
    assert.notEqual(mut.code, 0);
    assert.match(mut.stderr + mut.stdout, /no-protection-removal/);
    const q = await run(gh, ['api', 'graphql', '-f', 'query=query { viewer { login } }'], ghEnv());
    assert.equal(q.code, 0, q.stderr);
    assert.equal(JSON.parse(q.stdout).data.viewer.login, 'agentgate-bot');
  });
});

describe('forge - Octokit', () => {
  it('secrets are denied, settings and workflow files held for a human (no approver: refused), reads allowed', async () => {
    const o = octokit();
    await assert.rejects(
      o.rest.actions.createOrUpdateRepoSecret({ owner: 'acme', repo: 'app', secret_name: 'NPM_TOKEN', encrypted_value: 'eA==', key_id: '1' }),
      (err: { status: number; message: string }) => {
        assert.equal(err.status, 403);
        assert.match(err.message, /rule no-secrets/);
        return true;
      },
    );
    await assert.rejects(o.rest.repos.update({ owner: 'acme', repo: 'app', private: false }), (err: { status: number; message: string }) => {
      assert.equal(err.status, 403);
      assert.match(err.message, /ERR_APPROVAL_REQUIRED/);
      return true;
    });
    // Octokit's methods encode a `/` inside a path parameter as %2F, which the gateway refuses before any adapter (encoded
    // separators): fail closed, never forwarded. The same call with the path in the route goes through classification.
    await assert.rejects(
      o.rest.repos.createOrUpdateFileContents({
        owner: 'acme',
        repo: 'app',
        path: '.github/workflows/pwn.yml',
        message: 'ci',
        content: 'b246IHB1c2g=',
        branch: 'main',
      }),
      { status: 400 },
    );
    await assert.rejects(
      o.request('PUT /repos/{owner}/{repo}/contents/.github/workflows/pwn.yml', {
        owner: 'acme',
        repo: 'app',
        message: 'ci',
        content: 'b246IHB1c2g=',
        branch: 'main',
      }),
      { status: 403 },
    );
    assert.equal(ctx.double.requests.filter((q) => q.path.includes('/contents/')).length, 0, 'no workflow write reached the API');
    const { data } = await o.rest.repos.get({ owner: 'acme', repo: 'app' });
    assert.equal(data.full_name, 'acme/app');
    assert.equal(ctx.double.repos.get('acme/app'), undefined, 'the visibility change never reached the API');
    const [held] = await events((e) => e.event.action === 'forge.repo_visibility_change');
    assert.equal((held?.agentgate.action.attributes as Record<string, unknown> | undefined)?.visibility, 'public');
    const [wf] = await events((e) => e.event.action === 'forge.workflow_change');
    assert.equal((wf?.agentgate.action.attributes as Record<string, unknown> | undefined)?.setting, '.github/workflows/pwn.yml');
  });

  it('API ref updates by ancestry: a forced non-fast-forward of main is denied, a forced fast-forward goes on without force, an unprotected branch may be rewritten', async () => {
    const o = octokit();
    const main = await refOf('refs/heads/main');
    const parent = await refOf('refs/heads/main~1');
    // Rewind main (not a fast-forward): the mirror shows it, whatever the client says.
    const updateRef = (ref: string, sha: string, force: boolean) =>
      o.request(`PATCH /repos/{owner}/{repo}/git/refs/${ref}`, { owner: 'acme', repo: 'app', sha, force });
    await assert.rejects(updateRef('heads/main', parent, true), (err: { status: number; message: string }) => {
      assert.equal(err.status, 403);
      assert.match(err.message, /no-history-rewrite/);
      return true;
    });
    assert.equal(await refOf('refs/heads/main'), main, 'main unchanged');
    const [forced] = await events((e) => e.event.action === 'forge.ref_force_update');
    const fa = (forced?.agentgate.action.attributes ?? {}) as Record<string, unknown>;
    assert.deepEqual([fa.ref, fa.old, fa.new, fa.fastForward, fa.protected, fa.force], ['refs/heads/main', main, parent, false, true, true]);

    // A commit the upstream has on no ref is not in the mirror: a forced update to it is not provably a fast-forward (fail closed).
    const next = await commitIn(ctx.bare, main, 'next');
    await assert.rejects(updateRef('heads/main', next, true), { status: 403 });
    // Once on a branch upstream (pushed as staging), the mirror proves the fast-forward: a plain update, forwarded with force: false.
    await run('git', ['--git-dir', ctx.bare, 'update-ref', 'refs/heads/staging', next], gitEnv(ctx.dir));
    const ff = await updateRef('heads/main', next, true);
    assert.equal(ff.status, 200);
    assert.equal(await refOf('refs/heads/main'), next);
    const sent = ctx.double.requests.filter((q) => q.method === 'PATCH' && q.path.endsWith('/git/refs/heads/main')).at(-1);
    assert.deepEqual(sent?.body, { sha: next, force: false });

    // An unprotected branch may be force-updated and deleted (rule refs-elsewhere).
    await run('git', ['--git-dir', ctx.bare, 'update-ref', 'refs/heads/scratch', next], gitEnv(ctx.dir));
    const other = await commitIn(ctx.bare, parent, 'divergent');
    const forcedScratch = await updateRef('heads/scratch', other, true);
    assert.equal(forcedScratch.status, 200);
    assert.equal(await refOf('refs/heads/scratch'), other);
    const deleteRef = (ref: string) => o.request(`DELETE /repos/{owner}/{repo}/git/refs/${ref}`, { owner: 'acme', repo: 'app' });
    await assert.rejects(deleteRef('heads/main'), { status: 403 });
    assert.equal((await deleteRef('heads/scratch')).status, 204);
    assert.equal(await refOf('refs/heads/scratch'), '', 'scratch deleted upstream');
  });
});
