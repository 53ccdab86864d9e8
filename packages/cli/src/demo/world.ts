import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type CiIssuer, type GitServer, githubClaims, startCiIssuer, startGitServer, type TempDir, tempDir } from '@agentgate/testkit';
import { type ModelDouble, startModelDouble } from './model-double.js';

/** The user name git sends with the CI token as password (the gateway ignores it). */
export const DEMO_GIT_USER = 'x-access-token';

/** Everything around the gateway in the demo: a CI issuer, a git upstream, a model double, and the secrets. */
export interface DemoWorld {
  dir: TempDir;
  issuer: CiIssuer;
  git: GitServer;
  double: ModelDouble;
  /** Environment the secret broker reads the brokered values from. */
  secretEnv: Record<string, string>;
  /** A secret the scripted agent pastes into a prompt. */
  dbPassword: string;
  /** A CI token for the demo session. */
  token(): Promise<string>;
  close(): Promise<void>;
}

/** Starts the demo's surroundings. The upstreams accept only the brokered credentials, which only the gateway holds. */
export async function startDemoWorld(): Promise<DemoWorld> {
  const dir = tempDir('demo');
  const gitToken = `ghs_demo${randomBytes(16).toString('hex')}`;
  const modelKey = `sk-demo-${randomBytes(16).toString('hex')}`;
  const dbPassword = `pg-${randomBytes(12).toString('base64url')}`;
  const git = await startGitServer({ auth: { username: DEMO_GIT_USER, password: gitToken } });
  const double = await startModelDouble({ apiKey: modelKey });
  const issuer = await startCiIssuer({ alg: 'RS256' });
  await git.createRepo('app', { withCommits: 1 });
  return {
    dir,
    issuer,
    git,
    double,
    secretEnv: { DEMO_GIT_TOKEN: gitToken, DEMO_MODEL_KEY: modelKey, DEMO_DB_PASSWORD: dbPassword },
    dbPassword,
    token: () => issuer.mint(githubClaims({ repository: 'acme/app', run_id: String(Date.now()) })),
    async close() {
      await double.close();
      await git.stop();
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

/** The demo gateway's configuration (YAML): a model and a git connection, and a policy with the rules the demo exercises. */
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
policy:
  default: deny
  rules:
    - { name: acme-only, actions: ['*'], when: "!('acme-ci' in principal.groups)", decision: deny, reason: only acme pipelines use this gateway }
    - { name: small-models, actions: [llm.exchange], when: "!(attrs.model in ['gpt-4o-mini'])", decision: deny, reason: only gpt-4o-mini is approved }
    - { name: llm-ok, actions: ['llm.*'], decision: allow }
    - { name: no-force-push-protected, actions: [git.force_push], when: attrs.protected, decision: deny, reason: the history of a protected branch is never rewritten }
    - { name: git-ok, actions: ['git.*'], decision: allow }
`;
}
