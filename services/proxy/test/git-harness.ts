import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bus } from '@agentgate/bus';
import { type Config, loadConfig } from '@agentgate/config';
import type { AuditEvent } from '@agentgate/events';
import type { IdentityService } from '@agentgate/identity';
import { createLogger } from '@agentgate/log';
import type { SecretBroker } from '@agentgate/secret-broker';
import {
  type CiIssuer,
  type DelayProxy,
  type GitServer,
  githubClaims,
  type NatsServer,
  requireBinary,
  startCiIssuer,
  startDelayProxy,
  startGitServer,
  startNats,
  tempDir,
} from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { assertNoSecret, auditEvents } from './harness.js';
import { startBackends } from './backends.js';

export const GIT_USER = 'x-access-token';

/** The whole path for git: nats-server, identity, broker, proxy and a real git http-backend requiring the brokered credential. */
export interface GitHarness {
  nats: NatsServer;
  bus: Bus;
  issuer: CiIssuer;
  identity: IdentityService;
  broker: SecretBroker;
  git: GitServer;
  /** The delaying proxy between the gateway and the git server, when asked for (`delay: true`). */
  delay: DelayProxy | undefined;
  proxy: ProxyHandle;
  /** The validated configuration the proxy runs with. */
  config: Config;
  /** The brokered credential the upstream requires (the client never has it). */
  secret: string;
  /** CI token of acme/app (may not force-push). */
  token: string;
  /** CI token of acme/release-tool (group force-pushers). */
  releaseToken: string;
  /** Scratch directory for clones. */
  dir: string;
  /** Every stderr (GIT_TRACE_CURL included) of every client git run. */
  traces: string[];
  /** `<proxy>/<conn>/<repo>.git` */
  gatewayUrl(repo: string): string;
  close(): Promise<void>;
}

/** Options of startGitHarness; the YAML fragments are spliced into the config as is. */
export interface GitHarnessOptions {
  maxBodyBytes?: number;
  /** Put a delaying proxy (testkit startDelayProxy) between the gateway and the git server. */
  delay?: boolean;
  /** Extra `gateway.limits` keys, e.g. `idleTimeoutMs: 2000`. */
  limits?: string;
  /** Extra options of the `gh` connection, e.g. `progressIntervalMs: 500`. */
  gitOptions?: string;
  /** More connections (YAML list items, indented two spaces). */
  connections?: string;
  /** Policy rules evaluated before the harness's own (YAML list items, indented four spaces). */
  rules?: string;
  /** More identity groups (YAML list items, indented four spaces). */
  groups?: string;
  /** Top-level sections appended to the config (e.g. `approvals:`). */
  extra?: string;
  /** The proxy's port (default: any free one). */
  port?: number;
}

function configText(upstream: string, issuer: string, cacheDir: string, maxBody: number, o: GitHarnessOptions): string {
  return `
gateway:
  name: git-gateway
  limits: { maxBodyBytes: ${maxBody}, requestTimeoutMs: 300000${o.limits ? `, ${o.limits}` : ''} }
identity:
  issuers:
    - { name: gh, issuer: ${issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
  groups:
    - { name: acme-ci, when: { repository_owner: acme } }
    - { name: force-pushers, when: { repository: acme/release-tool } }
${o.groups ?? ''}connections:
  - name: gh
    type: git
    upstream: ${upstream}
    credential: { ref: git-token, inject: basic, username: ${GIT_USER} }
    options:
      protectedRefs: [refs/heads/main, 'refs/heads/release/*']
      cacheDir: ${cacheDir}
${o.gitOptions ? `      ${o.gitOptions}\n` : ''}${(o.connections ?? '').replaceAll('UPSTREAM', upstream)}
secrets:
  - { ref: git-token, source: env, env: GIT_TEST_TOKEN }
policy:
  default: deny
  rules:
${o.rules ?? ''}    - { name: only-acme, actions: ['git.*'], when: "!('acme-ci' in principal.groups)", decision: deny, reason: only acme pipelines may use git }
    - { name: release-force, actions: [git.force_push], when: "'force-pushers' in principal.groups", decision: allow }
    - { name: no-force-push, actions: [git.force_push], decision: deny }
    - { name: protect-delete, actions: [git.delete_ref], when: attrs.protected, decision: deny, reason: protected branches cannot be deleted }
    - { name: immutable-tags, actions: [git.tag_move, git.tag_delete], decision: deny, reason: release tags are immutable }
    - { name: git-allowed, actions: ['git.*'], decision: allow }
${o.extra ?? ''}`;
}

export async function startGitHarness(opts: GitHarnessOptions = {}): Promise<GitHarness> {
  // Characters that URL-encoding and base64 change, so every encoded form differs from the raw value.
  const secret = `ghs_${randomBytes(18).toString('base64url')}+/=${randomBytes(6).toString('hex')}`;
  const tmp = tempDir('proxy-git');
  const nats = await startNats();
  const git = await startGitServer({ auth: { username: GIT_USER, password: secret } });
  const delay = opts.delay ? await startDelayProxy(git.url) : undefined;
  const issuer = await startCiIssuer({ alg: 'RS256' });
  const upstream = delay?.url ?? git.url;
  const config = loadConfig({ text: configText(upstream, issuer.issuer, join(tmp.path, 'mirrors'), opts.maxBodyBytes ?? 64 * 1024 * 1024, opts), env: {} });
  const backends = await startBackends({ natsUrl: nats.url, name: 'proxy-git-test' }, config, { GIT_TEST_TOKEN: secret });
  const { bus, identity, broker } = backends;
  const logger = createLogger({ name: 'proxy', level: 'warn', destination: { write: () => {} } });
  const proxy = await startProxy(bus, config, logger, { host: '127.0.0.1', port: opts.port ?? 0 });
  const token = await issuer.mint(githubClaims({ repository: 'acme/app' }));
  const releaseToken = await issuer.mint(githubClaims({ repository: 'acme/release-tool' }));
  return {
    nats,
    bus,
    issuer,
    identity,
    broker,
    git,
    delay,
    proxy,
    config,
    secret,
    token,
    releaseToken,
    dir: tmp.path,
    traces: [],
    gatewayUrl: (repo) => `${proxy.url}/gh/${repo}.git`,
    close: async () => {
      await proxy.close();
      await backends.stop();
      await issuer.close();
      await delay?.stop();
      await git.stop();
      await nats.close();
      tmp.cleanup();
    },
  };
}

/** A CI-like client: its own HOME whose git config has a credential helper answering with the CI token (read from the environment). */
export function clientHome(h: GitHarness, name: string, token: string): { home: string; env: NodeJS.ProcessEnv } {
  const home = join(h.dir, `home-${name}-${randomBytes(3).toString('hex')}`);
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, '.gitconfig'),
    [
      '[user]',
      '\tname = ci bot',
      '\temail = ci@acme.invalid',
      '[credential]',
      `\thelper = "!f() { echo username=${GIT_USER}; echo password=$AGENTGATE_CI_TOKEN; }; f"`,
      '[init]',
      '\tdefaultBranch = main',
      '',
    ].join('\n'),
  );
  return {
    home,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      AGENTGATE_CI_TOKEN: token,
      GIT_TRACE_CURL: '1',
      LANG: 'C',
    },
  };
}

/** Runs the real git CLI as the CI would; keeps stderr (the curl trace) for the credential scan. Never throws: the caller checks `code`. */
export function git(h: GitHarness, env: NodeJS.ProcessEnv, args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = requireBinary('git', 'apt-get install -y git');
  return new Promise((resolve) => {
    execFile(bin, args, { cwd, env, maxBuffer: 256 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
      h.traces.push(stderr);
      assertNoSecret(stderr, h.secret, `git ${args[0]} trace`);
      assertNoSecret(stdout, h.secret, `git ${args[0]} output`);
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `git ls-remote` straight against the upstream's bare repository (not through the gateway). */
export async function upstreamRefs(h: GitHarness, repo: string): Promise<Map<string, string>> {
  const bin = requireBinary('git', 'apt-get install -y git');
  const out = await new Promise<string>((resolve, reject) => {
    execFile(bin, ['ls-remote', join(h.git.root, `${repo}.git`)], { env: { PATH: process.env.PATH, GIT_CONFIG_NOSYSTEM: '1', HOME: h.dir } }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
  const refs = new Map<string, string>();
  for (const line of out.trim().split('\n').filter(Boolean)) {
    const [sha, ref] = line.split('\t') as [string, string];
    refs.set(ref, sha);
  }
  return refs;
}

/** Events of one action kind family, waiting briefly for the completed phase (published after the response). */
export async function gitEvents(h: GitHarness, pred: (e: AuditEvent) => boolean, phase?: string, timeoutMs = 15_000): Promise<AuditEvent[]> {
  // A deadline, not a number of polls: how long 100 polls took depended on how fast the stream reads,
  // and an outcome that waits on an upstream held back 5 s (git-long) came after a faster bus had given up.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = (await auditEvents(h.bus)).filter(pred);
    if (!phase || events.some((e) => e.agentgate.action.phase === phase) || Date.now() > deadline) return events;
    await new Promise((r) => setTimeout(r, 30));
  }
}

/**
 * Polls every process's command line (world-readable in /proc) while it
 * runs, counting any that hold a form of the secret, and remembering
 * whether it ever caught the gateway's mirror fetch in the act.
 */
export function watchCommandLines(secret: string): { stop(): { scans: number; leaks: number; sawMirrorFetch: boolean } } {
  const forms = [secret, Buffer.from(secret).toString('base64'), Buffer.from(`${GIT_USER}:${secret}`).toString('base64'), encodeURIComponent(secret)];
  let scans = 0;
  let leaks = 0;
  let sawMirrorFetch = false;
  const timer = setInterval(() => {
    scans++;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let cmd: string;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      } catch {
        continue;
      }
      if (cmd.includes('fetch\0--prune')) sawMirrorFetch = true;
      if (forms.some((f) => cmd.includes(f))) leaks++;
    }
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return { scans, leaks, sawMirrorFetch };
    },
  };
}
