/**
 * The system under test, started the way the deploy files run it: a real nats-server
 * (JetStream) and one OpenSearch node from the testkit, a CI-token issuer, the upstream in
 * its own process, and the five services each as `node services/<name>/dist/main.js` with
 * AGENTGATE_CONFIG, NATS_URL and OPENSEARCH_URL in the environment (as docker-compose.yml
 * sets them) and `audit.sinks: []` in the file, as deploy/compose/agentgate.yaml has it.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childPid } from './proc-cpu.js';
import { type CiIssuer, freePort, githubClaims, type NatsServer, type OpenSearchNode, startCiIssuer, startNats, startOpenSearch } from '@agentgate/testkit';

/** The five services, in start order (the proxy last: it needs identity and the broker to answer). */
export const SERVICES = ['identity', 'secret-broker', 'masking', 'audit-writer', 'proxy'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Name of the bench's connection: requests go to `/<CONNECTION>/bench/<n>`. */
export const CONNECTION = 'api';
/** The brokered upstream credential; the load generator never sees it. */
const UPSTREAM_TOKEN = 'bench-upstream-token-3f9a1c7e5b2d4f6a8c0e';

export interface StackOptions {
  root: string;
  logLevel: string;
  /** OpenSearch JVM heap. */
  heap: string;
  /** Distinct CI tokens (pipelines) the load uses. */
  tokens: number;
}

export interface Service {
  name: ServiceName;
  proc: ChildProcess;
  logFile: string;
}

export interface Stack {
  dir: string;
  nats: NatsServer;
  os: OpenSearchNode;
  issuer: CiIssuer;
  upstream: { proc: ChildProcess; origin: string };
  services: Service[];
  proxyOrigin: string;
  tokens: string[];
  configFile: string;
  /** Process ids measured by the bench, by name. */
  pids(): Record<string, number | undefined>;
  /** The last lines of every service's log (for a failure message). */
  logTails(lines?: number): string;
  close(): Promise<void>;
}

function configText(o: { port: number; issuer: string; upstream: string; dataDir: string; logLevel: string }): string {
  return `# Written by bench/pipeline.ts: the whole-pipeline benchmark.
gateway:
  name: bench
  listen: { host: 127.0.0.1, port: ${o.port} }
  auth: { verifyTimeoutMs: 10000 }
bus:
  dataDir: ${o.dataDir}
  streams: { replicas: 1 }
identity:
  issuers:
    - { name: ci, issuer: ${o.issuer}, audiences: [agentgate], algorithms: [RS256], profile: github-actions, requiredClaims: [repository, run_id] }
connections:
  - name: ${CONNECTION}
    type: http
    upstream: ${o.upstream}
    credential: { ref: upstream-token, inject: bearer }
secrets:
  - { ref: upstream-token, source: env, env: BENCH_UPSTREAM_TOKEN }
policy:
  default: deny
  rules:
    - { name: bench-read, connections: [${CONNECTION}], actions: ['http.get'], decision: allow }
audit:
  sinks: []
log:
  level: ${o.logLevel}
`;
}

function forkUpstream(root: string): Promise<{ proc: ChildProcess; origin: string }> {
  const proc = fork(join(root, 'bench/lib/upstream.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    proc.once('message', (m: { port: number }) => resolve({ proc, origin: `http://127.0.0.1:${m.port}` }));
    proc.once('exit', (code) => reject(new Error(`the upstream exited (${code}) before listening`)));
  });
}

function stopChild(proc: ChildProcess, graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, failFast: () => string | undefined): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const dead = failFast();
    if (dead) throw new Error(dead);
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts everything; on failure stops what was started and throws with the services' log tails. */
export async function startStack(o: StackOptions, say: (line: string) => void): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-pipeline-bench-'));
  const started: Array<() => Promise<unknown>> = [];
  const services: Service[] = [];
  const logTails = (lines = 15) =>
    services
      .map((s) => {
        let text = '';
        try {
          text = readFileSync(s.logFile, 'utf8');
        } catch {
          // not written yet
        }
        return `--- ${s.name} (${s.logFile})\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
      })
      .join('\n');
  try {
    const t0 = performance.now();
    // Each part is registered for stopping as soon as it is up, so a failure of another stops it too.
    const track = <T>(p: Promise<T>, stop: (x: T) => Promise<unknown>): Promise<T> =>
      p.then((x) => {
        started.push(() => stop(x));
        return x;
      });
    const [nats, os, issuer, upstream] = await Promise.all([
      track(startNats(), (n) => n.close()),
      track(startOpenSearch({ heap: o.heap }), (n) => n.close()),
      track(startCiIssuer(), (i) => i.close()),
      track(forkUpstream(o.root), (u) => stopChild(u.proc)),
    ]);
    say(`nats-server ${nats.url} and OpenSearch ${os.url} up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const port = await freePort();
    const configFile = join(dir, 'agentgate.yaml');
    writeFileSync(configFile, configText({ port, issuer: issuer.issuer, upstream: upstream.origin, dataDir: join(dir, 'data'), logLevel: o.logLevel }));
    for (const name of SERVICES) {
      const logFile = join(dir, `${name}.log`);
      const fd = openSync(logFile, 'a');
      const proc = spawn(process.execPath, [join(o.root, 'services', name, 'dist', 'main.js')], {
        cwd: o.root,
        env: {
          PATH: process.env['PATH'],
          HOME: process.env['HOME'],
          AGENTGATE_CONFIG: configFile,
          NATS_URL: nats.url,
          OPENSEARCH_URL: os.url,
          // Only the broker holds the upstream credential.
          ...(name === 'secret-broker' && { BENCH_UPSTREAM_TOKEN: UPSTREAM_TOKEN }),
        },
        stdio: ['ignore', fd, fd],
      });
      closeSync(fd);
      services.push({ name, proc, logFile });
      started.push(() => stopChild(proc));
    }
    const proxyOrigin = `http://127.0.0.1:${port}`;
    const dead = () => {
      const d = services.find((s) => s.proc.exitCode !== null || s.proc.signalCode !== null);
      return d && `${d.name} exited (${d.proc.exitCode ?? d.proc.signalCode}):\n${logTails()}`;
    };
    await waitUntil('the proxy ready', 120_000, async () => (await fetch(`${proxyOrigin}/_agentgate/readyz`)).status === 200, dead);
    const tokens = await Promise.all(
      Array.from({ length: o.tokens }, (_, i) =>
        issuer.mint(githubClaims({ run_id: String(8_000_000_000 + i), actor: `bench-${i}` }), { expiresIn: 3 * 3600 }),
      ),
    );
    // First token of the issuer: identity fetches discovery + JWKS; no measured request pays for it.
    await waitUntil(
      'a first request through the proxy',
      60_000,
      async () => (await fetch(`${proxyOrigin}/${CONNECTION}/bench/warmup`, { headers: { authorization: `Bearer ${tokens[0]}` } })).status === 200,
      dead,
    );
    say(`five services up (${SERVICES.join(', ')}), logs and config in ${dir}`);
    return {
      dir,
      nats,
      os,
      issuer,
      upstream,
      services,
      proxyOrigin,
      tokens,
      configFile,
      pids: () => ({
        ...Object.fromEntries(services.map((s) => [s.name, s.proc.pid])),
        'nats-server': childPid(nats.pid, 'nats-server'),
        opensearch: childPid(os.pid, 'java'),
        upstream: upstream.proc.pid,
      }),
      logTails,
      close: async () => {
        for (const stop of started.reverse()) await stop().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    throw Object.assign(err as Error, { logs: logTails() });
  }
}
