import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoIssuer } from './ci-issuer.js';
import { demoClaims } from './ci-issuer.js';
import { startGitUpstream } from './git-upstream.js';
import { startModelDouble } from './model-double.js';
import { DEMO_GIT_USER, type DemoAgent, demoScript } from './session.js';

/**
 * The demo's parts as separate processes, for `docker compose --profile demo`:
 * each `agentgate demo serve <part>` runs one part until SIGTERM; `agentgate
 * demo agent` plays the session against a gateway it reaches over the
 * network. Brokered values come from files (a volume the compose setup job
 * fills), never from the command line.
 */

/** The demo parts that run as servers. */
export type DemoPart = 'issuer' | 'git' | 'model';

/** Options of serveDemoPart. */
export interface ServeOptions {
  host: string;
  port: number;
  /** Directory holding `git-token` and `model-key` (files the setup job wrote). */
  secretsDir: string;
  /** Where the part keeps state (the issuer's key, the git repositories). */
  dataDir: string;
  /** The issuer's public URL (its `iss`), e.g. http://demo-issuer:8090. */
  issuerUrl?: string;
}

/** Reads one secret file (trailing newlines removed); a clear error names the file, never the content. */
export function readSecretFile(dir: string, name: string): string {
  const file = join(dir, name);
  if (!existsSync(file)) throw new Error(`demo secret ${file} does not exist (the compose setup job creates it)`);
  const value = readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
  if (!value) throw new Error(`demo secret ${file} is empty`);
  return value;
}

/** Starts one part; resolves with its URL and a stop function. */
export async function serveDemoPart(part: DemoPart, o: ServeOptions): Promise<{ url: string; close(): Promise<void> }> {
  if (part === 'issuer') {
    const issuer = await startDemoIssuer({
      host: o.host,
      port: o.port,
      tokenEndpoint: true,
      keyFile: join(o.dataDir, 'issuer-key.json'),
      ...(o.issuerUrl && { issuerUrl: o.issuerUrl }),
    });
    return { url: issuer.url, close: () => issuer.close() };
  }
  if (part === 'git') {
    const git = await startGitUpstream({
      host: o.host,
      port: o.port,
      root: join(o.dataDir, 'repos'),
      auth: { username: DEMO_GIT_USER, password: readSecretFile(o.secretsDir, 'git-token') },
    });
    await git.createRepo('app');
    return { url: git.url, close: () => git.close() };
  }
  const double = await startModelDouble({
    host: o.host,
    port: o.port,
    apiKey: readSecretFile(o.secretsDir, 'model-key'),
    script: demoScript,
    seenEndpoint: true,
  });
  return { url: double.url, close: () => double.close() };
}

/** Where a remote agent finds the demo's parts. */
export interface RemoteAgentOptions {
  /** The issuer's token endpoint base, e.g. http://demo-issuer:8090. */
  issuerUrl: string;
  /** The model double, e.g. http://demo-model:8092 (asked what it received). */
  modelUrl: string;
  /** The password the agent pastes into a prompt. */
  dbPassword: string;
  workDir?: string;
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** A demo agent whose tokens come from the issuer's token endpoint and who asks the double over HTTP what it saw. */
export function remoteDemoAgent(o: RemoteAgentOptions): DemoAgent {
  const mint = async (repository: string, actor: string): Promise<string> =>
    (await postJson<{ value: string }>(`${o.issuerUrl}/token`, demoClaims({ repository, runId: String(Date.now()), actor }))).value;
  return {
    dbPassword: o.dbPassword,
    workDir: o.workDir ?? mkdtempSync(join(tmpdir(), 'agentgate-demo-agent-')),
    token: () => mint('acme/app', 'octocat'),
    approverToken: () => mint('acme/releases', 'release-manager'),
    modelSaw: async (needles) => (await postJson<{ seen: boolean[] }>(`${o.modelUrl}/_double/seen`, { needles })).seen,
  };
}
