import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Gateway, startGateway } from '@agentgate/cli';
import { loadConfig } from '@agentgate/config';
import { type ModelDouble, startModelDouble } from '@agentgate/demo';
import {
  type CiIssuer,
  type GitServer,
  type KubeCluster,
  type Registry,
  freePort,
  gitlabClaims,
  githubClaims,
  requireBinary,
  startCiIssuer,
  startGitServer,
  startKube,
  startRegistry,
  startTlsFront,
  type TempDir,
  type TlsFront,
  tempDir,
} from '@agentgate/testkit';
import { parse } from 'yaml';
import { startMcpServer, type TestMcpServer } from '../../services/proxy/test/mcp-server.js';
import { writeOciImage } from '../../services/proxy/test/registry-harness.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const GIT_USER = 'x-access-token';

/** The gateway (behind a TLS front, as in production) and everything around it that a CI job reaches through it. */
export interface CiWorld {
  dir: TempDir;
  /** GitHub-style issuer, serving tokens the way the Actions runtime does. */
  github: CiIssuer;
  /** GitLab-style issuer (id_tokens). */
  gitlab: CiIssuer;
  git: GitServer;
  model: ModelDouble;
  registry: Registry;
  /** With `platform`: a real kube-apiserver (connection `kube`) and an MCP server (connection `tools`). */
  kube?: KubeCluster;
  mcp?: TestMcpServer;
  gateway: Gateway;
  front: TlsFront;
  /** The brokered credentials, which no job output may contain. */
  secrets: string[];
  /** Trust of the test CA, as a runner image would have it for a real gateway's CA. */
  trustEnv(): Record<string, string>;
  close(): Promise<void>;
}

/** Namespace the `kube` connection's ServiceAccount-free test user may use (the gateway's credential is the admin token). */
export const CI_KUBE_NAMESPACE = 'agents';

export async function startCiWorld(o: { platform?: boolean } = {}): Promise<CiWorld> {
  const dir = tempDir('ci-world');
  const gitToken = `ghs_${randomBytes(18).toString('hex')}`;
  const modelKey = `sk-ci-${randomBytes(16).toString('hex')}`;
  const registryPassword = `reg-${randomBytes(12).toString('hex')}`;
  const git = await startGitServer({ auth: { username: GIT_USER, password: gitToken } });
  await git.createRepo('acme/app', { withCommits: 1 });
  const model = await startModelDouble({ apiKey: modelKey });
  const registry = await startRegistry({ auth: { username: 'ci', password: registryPassword } });
  const github = await startCiIssuer({ actionsRuntime: { claims: () => githubClaims({ repository: 'acme/app', run_id: String(Date.now()) }) } });
  const gitlab = await startCiIssuer();
  const mcpKey = `mcp-${randomBytes(12).toString('hex')}`;
  const kube = o.platform ? await startKube() : undefined;
  const mcp = o.platform ? await startMcpServer({ credential: mcpKey, secretInResult: `AKIA${randomBytes(8).toString('hex').toUpperCase()}` }) : undefined;
  if (kube) {
    const r = await kube.kubectl(kube.writeKubeconfig('admin'), ['create', 'namespace', CI_KUBE_NAMESPACE]);
    if (r.code !== 0) throw new Error(`creating the namespace failed: ${r.stderr}`);
    process.env.CI_TEST_KUBE_TOKEN = kube.adminToken;
  }
  process.env.CI_TEST_MCP_KEY = mcpKey;
  const port = await freePort();
  process.env.CI_TEST_GIT_TOKEN = gitToken;
  process.env.CI_TEST_MODEL_KEY = modelKey;
  process.env.CI_TEST_REGISTRY_PASSWORD = registryPassword;
  const config = loadConfig({
    env: {},
    text: `
${gatewayConfigHead(port, dir.path)}
    - { name: gh, issuer: ${github.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
    - { name: gl, issuer: ${gitlab.issuer}, audiences: [agentgate], profile: gitlab-ci, algorithms: [RS256] }
connections:
  - { name: github-git, type: git, upstream: '${git.url}', credential: { ref: git-token, inject: basic, username: ${GIT_USER} } }
  - { name: gitlab-git, type: git, upstream: '${git.url}', credential: { ref: git-token, inject: basic, username: ${GIT_USER} } }
  - { name: openai, type: llm, upstream: '${model.url}/v1', credential: { ref: model-key, inject: bearer }, options: { provider: openai } }
  - { name: registry, type: registry, upstream: '${registry.url}', credential: { ref: registry-password, inject: basic, username: ci } }
${kube ? `  - { name: kube, type: kubernetes, upstream: '${kube.url}', credential: { ref: kube-token, inject: bearer }, options: { caFile: '${kube.caFile}' } }` : ''}
${mcp ? `  - { name: tools, type: mcp, upstream: '${mcp.url}', credential: { ref: mcp-key, inject: bearer } }` : ''}
secrets:
  - { ref: git-token, source: env, env: CI_TEST_GIT_TOKEN }
  - { ref: model-key, source: env, env: CI_TEST_MODEL_KEY }
  - { ref: registry-password, source: env, env: CI_TEST_REGISTRY_PASSWORD }
${kube ? '  - { ref: kube-token, source: env, env: CI_TEST_KUBE_TOKEN }' : ''}
${mcp ? '  - { ref: mcp-key, source: env, env: CI_TEST_MCP_KEY }' : ''}
audit: { sinks: [{ type: local, path: ${dir.path}/audit }] }
policy:
  default: deny
  rules:
    - { name: no-force-push, actions: [git.force_push], decision: deny }
    - { name: no-repo-deletion, actions: [mcp.tools.call], when: "attrs.tool == 'delete_repository'", decision: deny, reason: agents do not delete repositories }
    - { name: ci-ok, actions: ['git.*', 'llm.*', 'registry.*', 'kubernetes.*', 'mcp.*', 'mcp.*.*'], decision: allow }
`,
  });
  const gateway = await startGateway(config);
  const front = await startTlsFront(`http://127.0.0.1:${port}`);
  // The image the jobs promote, pushed straight to the upstream registry.
  const image = writeOciImage(join(dir.path, 'image'), 'candidate', { 'app.txt': randomBytes(64) });
  const seeded = await run(
    requireBinary('skopeo', 'apt-get install -y skopeo'),
    ['copy', '--dest-tls-verify=false', '--dest-creds', `ci:${registryPassword}`, image.ref, `docker://${registry.host}/acme/app:candidate`],
    { env: { PATH: process.env.PATH ?? '', HOME: dir.path } },
  );
  if (seeded.code !== 0) throw new Error(`seeding the registry failed: ${seeded.stderr}`);
  return {
    dir,
    github,
    gitlab,
    git,
    model,
    registry,
    gateway,
    front,
    ...(kube && { kube }),
    ...(mcp && { mcp }),
    secrets: [gitToken, modelKey, registryPassword, mcpKey, ...(kube ? [kube.adminToken] : [])],
    trustEnv: () => ({ GIT_SSL_CAINFO: front.caFile, NODE_EXTRA_CA_CERTS: front.caFile, SSL_CERT_FILE: front.caFile }),
    async close() {
      await front.close();
      await gateway.stop();
      await registry.stop();
      await mcp?.close();
      await kube?.close();
      await model.close();
      await git.stop();
      await github.close();
      await gitlab.close();
      dir.cleanup();
    },
  };
}

/**
 * The first lines of a test gateway's config: listen on 127.0.0.1:`port`, bus data and a warn log
 * under `dir`, then `identity.issuers:` open for the caller's issuer entries (indented four spaces).
 */
export function gatewayConfigHead(port: number, dir: string): string {
  return `gateway: { listen: { host: 127.0.0.1, port: ${port} } }
bus: { dataDir: ${dir}/data }
log: { level: warn }
identity:
  issuers:`;
}

/** The subject of the newest commit on `main` of the git server's acme/app repository. */
export function pushedSubject(w: CiWorld): string {
  return execFileSync('git', ['--git-dir', join(w.git.root, 'acme', 'app.git'), 'log', '-1', '--format=%s', 'main'], { encoding: 'utf8' }).trim();
}

/** True when the git server received a push (receive-pack POST) carrying the brokered credential. */
export function pushedWithBrokeredCredential(w: CiWorld): boolean {
  return w.git.requests.some((r) => r.method === 'POST' && r.path.endsWith('/git-receive-pack') && r.authorized);
}

/** Status of a HEAD of acme/app:latest's manifest on the registry, asked directly with the registry's own credential. */
export async function promotedManifestStatus(w: CiWorld): Promise<number> {
  const res = await fetch(`${w.registry.url}/v2/acme/app/manifests/latest`, {
    method: 'HEAD',
    headers: {
      authorization: `Basic ${Buffer.from(`ci:${process.env.CI_TEST_REGISTRY_PASSWORD}`).toString('base64')}`,
      accept: 'application/vnd.oci.image.manifest.v1+json',
    },
  });
  return res.status;
}

/** Runs a program; never throws (the caller checks `code`). */
export function run(
  cmd: string,
  args: string[],
  o: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { env: o.env, cwd: o.cwd, timeout: o.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

/** One step's run, as a runner's log would show it. */
export interface StepLog {
  name: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** `${{ a.b.c }}` with values from `ctx`; any other expression is an error (the runners here evaluate no more). */
export function expand(text: string, ctx: Record<string, Record<string, string>>): string {
  return text.replace(/\$\{\{\s*([a-z_-]+)\.([A-Za-z0-9_-]+)\s*\}\}/g, (whole, scope: string, key: string) => {
    const v = ctx[scope]?.[key];
    if (v === undefined) throw new Error(`unsupported or unknown expression ${whole}`);
    return v;
  });
}

/** Parses a GITHUB_ENV file (`K=V` lines and `K<<DELIM` heredocs). */
export function parseGithubEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i] as string);
      out[heredoc[1] as string] = value.join('\n');
    } else if (line.includes('=')) out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return out;
}

/**
 * Runs a workflow job the way the Actions runner does, for the steps the
 * examples use: `actions/checkout` (the workspace is this repository's
 * examples, already there), this repository's action (`uses:
 * …/agentgate@…`: its composite steps from action.yml, inputs from `with:`
 * and defaults, GITHUB_ACTION_PATH the repository), and `run:` steps in
 * `bash --noprofile --norc -eo pipefail`; GITHUB_ENV and GITHUB_PATH are
 * applied between steps, and the runtime's token endpoint variables are
 * there because the job has `id-token: write`.
 */
export async function runGithubJob(
  w: CiWorld,
  o: {
    workflow: string;
    job: string;
    inputs: Record<string, string>;
    withOverrides: Record<string, string> /** Tool directories the runner image has on PATH. */;
    path?: string[];
  },
): Promise<{ steps: StepLog[]; env: Record<string, string> }> {
  const wf = parse(readFileSync(o.workflow, 'utf8')) as {
    permissions?: Record<string, string>;
    jobs: Record<string, { env?: Record<string, string>; steps: Array<Record<string, unknown>> }>;
  };
  if (wf.permissions?.['id-token'] !== 'write') throw new Error('the workflow does not grant id-token: write');
  const job = wf.jobs[o.job];
  if (!job) throw new Error(`no job ${o.job}`);
  const runner = join(w.dir.path, `gh-runner-${randomBytes(3).toString('hex')}`);
  const workspace = join(runner, 'work');
  const home = join(runner, 'home');
  for (const d of [workspace, home, join(runner, 'temp')]) mkdirSync(d, { recursive: true });
  symlinkSync(join(ROOT, 'examples'), join(workspace, 'examples'));
  const files = { GITHUB_ENV: join(runner, 'env'), GITHUB_PATH: join(runner, 'path'), GITHUB_OUTPUT: join(runner, 'output') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const ctx = { inputs: o.inputs, env: {} as Record<string, string> };
  const base: Record<string, string> = {
    PATH: [...(o.path ?? []), process.env.PATH ?? '/usr/bin:/bin'].join(':'),
    HOME: home,
    CI: 'true',
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: join(runner, 'temp'),
    ...files,
    ...(w.github.actions?.env() ?? {}),
    ...w.trustEnv(),
  };
  const jobEnv = Object.fromEntries(Object.entries(job.env ?? {}).map(([k, v]) => [k, expand(String(v), ctx)]));
  const steps: StepLog[] = [];
  const stepEnv = (own: Record<string, string>): NodeJS.ProcessEnv => {
    const added = parseGithubEnv(readFileSync(files.GITHUB_ENV, 'utf8'));
    const paths = readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean).reverse();
    return { ...base, ...jobEnv, ...added, ...own, PATH: [...paths, base.PATH].join(':') };
  };
  const bash = async (name: string, script: string, env: NodeJS.ProcessEnv) => {
    const r = await run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { env, cwd: workspace });
    steps.push({ name, ...r });
    if (r.code !== 0) throw new Error(`step "${name}" failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  };
  for (const step of job.steps) {
    const name = String(step.name ?? step.uses ?? 'run');
    if (typeof step.uses === 'string' && step.uses.startsWith('actions/checkout@')) continue;
    if (typeof step.uses === 'string' && /\/agentgate@/.test(step.uses)) {
      const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as {
        inputs: Record<string, { default?: string; required?: boolean }>;
        runs: { using: string; steps: Array<{ run: string; env?: Record<string, string> }> };
      };
      if (action.runs.using !== 'composite') throw new Error('the action is not composite');
      const given = { ...((step.with as Record<string, string> | undefined) ?? {}), ...o.withOverrides };
      const inputs: Record<string, string> = {};
      for (const [k, spec] of Object.entries(action.inputs)) {
        const v = given[k] ?? spec.default;
        if (v === undefined && spec.required) throw new Error(`input ${k} is required`);
        inputs[k] = v ?? '';
      }
      for (const s of action.runs.steps) {
        const own = Object.fromEntries(Object.entries(s.env ?? {}).map(([k, v]) => [k, expand(String(v), { inputs })]));
        await bash(name, s.run, stepEnv({ ...own, GITHUB_ACTION_PATH: ROOT }));
      }
      continue;
    }
    if (typeof step.run === 'string') {
      await bash(name, expand(step.run, ctx), stepEnv({}));
      continue;
    }
    throw new Error(`unsupported step ${JSON.stringify(step)}`);
  }
  return { steps, env: stepEnv({}) as Record<string, string> };
}

type GitlabJob = {
  extends?: string;
  variables?: Record<string, string>;
  id_tokens?: Record<string, { aud: string }>;
  before_script?: string[];
  script?: string[];
};

/** GitLab's `extends`: hashes merged deeply, the job's own keys win, arrays replaced. */
function merge(base: Record<string, unknown>, own: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(own)) {
    const b = out[k];
    out[k] =
      b && v && typeof b === 'object' && typeof v === 'object' && !Array.isArray(b) && !Array.isArray(v)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * Runs a GitLab job the way the runner's shell executor does, for what the
 * examples use: `include:` of this repository's template (a `project:` or
 * `local:` include resolving to ci/gitlab/…), `extends:`, variables (the
 * pipeline's override the job's, which override the template's),
 * `id_tokens:` minted with their `aud`, and before_script + script in one
 * bash session that stops at the first failing line.
 */
export async function runGitlabJob(
  w: CiWorld,
  o: { pipeline: string; job: string; pipelineVariables: Record<string, string>; path: string[] },
): Promise<{ log: StepLog; tokens: Record<string, string> }> {
  const doc = parse(readFileSync(o.pipeline, 'utf8')) as Record<string, unknown> & { include?: Array<{ file?: string; local?: string }> };
  const defs: Record<string, GitlabJob> = {};
  for (const inc of doc.include ?? []) {
    const file = inc.file ?? inc.local;
    if (!file) throw new Error(`unsupported include ${JSON.stringify(inc)}`);
    Object.assign(defs, parse(readFileSync(join(ROOT, file.replace(/^\//, '')), 'utf8')) as Record<string, GitlabJob>);
  }
  Object.assign(defs, doc);
  let job = defs[o.job] as GitlabJob | undefined;
  if (!job) throw new Error(`no job ${o.job}`);
  if (job.extends) job = merge(defs[job.extends] as Record<string, unknown>, job as Record<string, unknown>) as GitlabJob;
  const runner = join(w.dir.path, `gl-runner-${randomBytes(3).toString('hex')}`);
  const project = join(runner, 'project');
  const home = join(runner, 'home');
  for (const d of [project, home]) mkdirSync(d, { recursive: true });
  symlinkSync(join(ROOT, 'examples'), join(project, 'examples'));
  const tokens: Record<string, string> = {};
  for (const [name, spec] of Object.entries(job.id_tokens ?? {})) {
    tokens[name] = await w.gitlab.mint(gitlabClaims({ project_path: 'acme/app', job_id: String(Date.now()) }), { audience: spec.aud });
  }
  const env: NodeJS.ProcessEnv = {
    PATH: [...o.path, process.env.PATH ?? '/usr/bin:/bin'].join(':'),
    HOME: home,
    CI: 'true',
    GITLAB_CI: 'true',
    CI_PROJECT_DIR: project,
    CI_JOB_ID: '3434',
    TMPDIR: join(runner, 'tmp'),
    ...w.trustEnv(),
    ...(job.variables ?? {}),
    ...tokens,
    ...o.pipelineVariables,
  };
  mkdirSync(env.TMPDIR as string, { recursive: true });
  const script = [...(job.before_script ?? []), ...(job.script ?? [])].join('\n');
  const r = await run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { env, cwd: project });
  const log = { name: o.job, ...r };
  if (r.code !== 0) throw new Error(`job ${o.job} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return { log, tokens };
}

/** Audit documents of a local sink directory (JSON lines, one file per day). */
export function auditDocs(dir: string): Array<Record<string, unknown>> {
  const docs: Array<Record<string, unknown>> = [];
  for (const f of readdirSync(dir).filter((n) => /^audit-.*\.jsonl$/.test(n))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        docs.push((JSON.parse(line) as { doc: Record<string, unknown> }).doc);
      } catch {
        // a torn last line while the writer appends: read again later
      }
    }
  }
  return docs;
}

/** The action kind of an audit document (ECS `event.action`). */
export const actionOf = (d: Record<string, unknown>): string | undefined => (d.event as { action?: string } | undefined)?.action;

/** Polls `fn` until it returns a value, or fails the test saying `what` did not happen. */
export async function eventually<T>(what: string, fn: () => T | undefined, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > until) assert.fail(`${what} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
