import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DemoIssuer, demoClaims, startDemoIssuer } from './ci-issuer.js';
import { type GitUpstream, startGitUpstream } from './git-upstream.js';
import { type ModelDouble, startModelDouble } from './model-double.js';
import { DEMO_GIT_USER, type DemoAgent, demoScript } from './session.js';

export { DEMO_GIT_USER };

/** Everything around the gateway in the one-process demo: a CI issuer, a git upstream, a model double, and the secrets; it is also the agent. */
export interface DemoWorld extends DemoAgent {
  dir: { path: string; cleanup(): void };
  issuer: DemoIssuer;
  git: GitUpstream;
  double: ModelDouble;
  /** Environment the secret broker reads the brokered values from. */
  secretEnv: Record<string, string>;
  close(): Promise<void>;
}

/** Starts the demo's surroundings on loopback. The upstreams accept only the brokered credentials, which only the gateway holds. */
export async function startDemoWorld(): Promise<DemoWorld> {
  const path = mkdtempSync(join(tmpdir(), 'agentgate-demo-'));
  const dir = { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
  const gitToken = `ghs_demo${randomBytes(16).toString('hex')}`;
  const modelKey = `sk-demo-${randomBytes(16).toString('hex')}`;
  const dbPassword = `pg-${randomBytes(12).toString('base64url')}`;
  const git = await startGitUpstream({ auth: { username: DEMO_GIT_USER, password: gitToken }, root: join(path, 'repos') });
  const double = await startModelDouble({ apiKey: modelKey, script: demoScript });
  const issuer = await startDemoIssuer();
  await git.createRepo('app');
  return {
    dir,
    issuer,
    git,
    double,
    secretEnv: { DEMO_GIT_TOKEN: gitToken, DEMO_MODEL_KEY: modelKey, DEMO_DB_PASSWORD: dbPassword },
    dbPassword,
    workDir: path,
    token: () => issuer.mint(demoClaims({ repository: 'acme/app', runId: String(Date.now()), actor: 'octocat' })),
    approverToken: () => issuer.mint(demoClaims({ repository: 'acme/releases', runId: String(Date.now()), actor: 'release-manager' })),
    modelSaw: async (needles) => double.saw(needles),
    async close() {
      await double.close();
      await git.close();
      await issuer.close();
      dir.cleanup();
    },
  };
}

/** Where the demo's gateway keeps its data and sends its trail. */
export interface DemoConfigOptions {
  port: number;
  /** NATS instead of the in-process bus. */
  natsUrl?: string;
  /** OpenSearch instead of the local store. */
  opensearchUrl?: string;
  /** Chain partition of this audit writer. */
  dataDir?: string;
}

/**
 * The demo gateway's configuration (YAML): model, git and deployments
 * connections, and a policy with the rules the demo exercises. The same
 * connections and rules are in deploy/compose/agentgate.yaml, with the demo
 * profile's container names as upstreams.
 */
export function demoConfigText(w: DemoWorld, o: DemoConfigOptions): string {
  const dataDir = o.dataDir ?? join(w.dir.path, 'data');
  const sink = o.opensearchUrl ? `{ type: opensearch, url: ${o.opensearchUrl} }` : `{ type: local, path: ${join(dataDir, 'audit')} }`;
  return `
gateway:
  name: agentgate-demo
  listen: { host: 127.0.0.1, port: ${o.port} }
bus:
  dataDir: ${dataDir}
${o.natsUrl ? `  natsUrl: ${o.natsUrl}\n` : ''}log: { level: warn }
identity:
  issuers:
    - { name: ci, issuer: ${w.issuer.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
  groups:
    - name: acme-ci
      when: { repository_owner: acme }
    - name: release-managers
      when: { repository_owner: acme, actor: release-manager }
connections:
  - name: model
    type: llm
    upstream: ${w.double.url}/v1
    credential: { ref: model-key, inject: bearer }
    options: { provider: openai }
  - name: git
    type: git
    upstream: ${w.git.url}
    credential: { ref: git-token, inject: basic, username: ${DEMO_GIT_USER} }
    options: { protectedRefs: [refs/heads/main] }
  - name: deploy
    type: http
    upstream: ${w.git.url}/api
    credential: { ref: git-token, inject: basic, username: ${DEMO_GIT_USER} }
secrets:
  - { ref: model-key, source: env, env: DEMO_MODEL_KEY }
  - { ref: git-token, source: env, env: DEMO_GIT_TOKEN }
  - { ref: db-password, source: env, env: DEMO_DB_PASSWORD }
audit:
  sinks: [${sink}]
  batch: { maxWaitMs: 200 }
masking:
  promptSecrets: mask
  service: { masklistRefreshMs: 5000, retryDelayMs: 200 }
approvals:
  approverGroups: [release-managers]
  timeoutMs: 120000
policy:
  default: deny
  rules:
    - { name: acme-only, actions: ['*'], when: "!('acme-ci' in principal.groups)", decision: deny, reason: only acme pipelines use this gateway }
    - { name: small-models, actions: [llm.exchange], when: "!(attrs.model in ['gpt-4o-mini'])", decision: deny, reason: only gpt-4o-mini is approved }
    - { name: llm-ok, actions: ['llm.*'], decision: allow }
    - { name: no-force-push-protected, actions: [git.force_push], when: attrs.protected, decision: deny, reason: the history of a protected branch is never rewritten }
    - { name: git-ok, actions: ['git.*'], decision: allow }
    - { name: deploys-need-approval, connections: [deploy], actions: [http.post], decision: review, reason: production deployments need a release manager }
`;
}
