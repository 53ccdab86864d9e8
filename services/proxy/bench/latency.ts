/**
 * Added latency, throughput and CPU per request of the proxy, with full durable audit on a real
 * nats-server (every intent acknowledged by JetStream before the request goes upstream), beside the same
 * upstream direct, nginx as a plain reverse proxy to it and a bare node reverse proxy (bench/plain-proxy.mjs:
 * node:http + undici, no gateway work: the floor node itself sets), in the same run.
 *
 * Processes: the proxy runs from the BUILT code (`dist/main.js`, `npm run build` first; the npm script
 * does) in its own process; the load generator (bench/load.mjs) and the upstream (bench/upstream.mjs) in
 * theirs; nginx (`apt-get install -y nginx-light`) with one worker. This process holds nats-server's
 * parent, the token issuer, identity and the secret broker (idle while measuring: principals and leases
 * are cached by the proxy). CPU per request is each process's CPU time (/proc/<pid>/stat) over the
 * measured window divided by the requests in it. For the proxy it also prints user/system CPU, read/write
 * system calls, wake-ups and preemptions per request (kernelCounters): on a loaded machine every wake-up and
 * preemption refills cold caches, which is why the same build costs 2-3x more CPU per request there than on a
 * quiet one; compare builds only within one run (BASE).
 *
 *   npm run bench -w @agentgate/proxy                       # defaults: 3000 at c=1, 20000 at c=32
 *   SEQ=5000 CONC=64 TOTAL=50000 npm run bench -w @agentgate/proxy
 *   PROF=/tmp/prof npm run bench -w @agentgate/proxy        # the proxy writes a --cpu-prof profile there
 *   BASE=/other/checkout/services/proxy/dist/main.js npm run bench -w @agentgate/proxy
 *                                                           # also measures another build ("gateway-base") in the same run
 *                                                           # (its c=32 figures and the gateway's in halves, A B B A)
 *   WORKERS=2 BASE=… npm run bench -w @agentgate/proxy    # the proxy under test with gateway.workers: 2 (CPU: primary + workers)
 *   NODE_ARGS='--max-semi-space-size=32' BASE=… BASE_NODE_ARGS=  # node flags of each proxy process (same build, two flags)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@agentgate/config';
import { findBinary, freePort, githubClaims, startCiIssuer, startNats, waitFor } from '@agentgate/testkit';
import { startBackends } from '../test/backends.js';

const SEQ = Number(process.env['SEQ'] ?? 3000);
const CONC = Number(process.env['CONC'] ?? 32);
const TOTAL = Number(process.env['TOTAL'] ?? 20000);
const PROF = process.env['PROF'];
const BASE = process.env['BASE'];
const words = (s: string | undefined): string[] => (s ?? '').split(/\s+/).filter(Boolean);
/** gateway.workers of the proxy under test (not of BASE, whose schema may not know it). */
const WORKERS = process.env['WORKERS'] ? Number(process.env['WORKERS']) : undefined;

const here = dirname(fileURLToPath(import.meta.url));
const proxyMain = join(here, '..', 'dist', 'main.js');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** The process and its children (a proxy with gateway.workers > 1 is a primary and its workers). */
function family(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...kids];
  } catch {
    return [pid];
  }
}

/** User + system CPU of a process and its children so far, in microseconds (0 once it is gone). */
function cpuUs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  return family(pid).reduce((sum, p) => sum + ownCpuUs(p), 0);
}

function ownCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5) (utime, stime); f[0] is field 3.
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
  } catch {
    return 0;
  }
}

/**
 * Where the proxy's CPU goes besides its code: user and system CPU, read and write system calls (/proc/<pid>/io,
 * all threads) and the main thread's context switches (voluntary: it slept in epoll; each wake-up costs more on a
 * loaded machine, where caches are cold), each so far, summed over its children (workers). Undefined once it is gone.
 */
function kernelCounters(pid: number | undefined): Record<string, number> | undefined {
  if (pid === undefined) return undefined;
  const each = family(pid).map(ownKernelCounters);
  if (each.some((c) => c === undefined)) return undefined;
  return Object.fromEntries(Object.keys(each[0]!).map((k) => [k, each.reduce((sum, c) => sum + c![k]!, 0)]));
}

function ownKernelCounters(pid: number): Record<string, number> | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (text: string, name: string): number => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
    return {
      userUs: (Number(f[11]) * 1e6) / CLK_TCK,
      sysUs: (Number(f[12]) * 1e6) / CLK_TCK,
      reads: field(io, 'syscr'),
      writes: field(io, 'syscw'),
      wakeups: field(status, 'voluntary_ctxt_switches'),
      preempted: field(status, 'nonvoluntary_ctxt_switches'),
    };
  } catch {
    return undefined;
  }
}

interface Target {
  name: string;
  /** The proxy process serving it (the CPU column "proxy"); default the proxy under test. */
  proxyPid?: number | undefined;
  origin: string;
  path: string;
  headers: Record<string, string>;
}

interface Measured {
  out: Record<string, number>;
  /** CPU µs per request of each watched process over the measured window. */
  cpu: Record<string, number>;
  /** The proxy's kernelCounters per request over the measured window. */
  kernel: Record<string, number>;
}

/** Runs one load job in its own process; samples the watched processes' CPU around the measured part only. */
async function runLoad(t: Target, job: { mode: 'seq' | 'conc'; n: number; conc?: number }, watch: Record<string, number | undefined>): Promise<Measured> {
  const child = spawn(process.execPath, [join(here, 'load.mjs'), JSON.stringify({ origin: t.origin, path: t.path, headers: t.headers, ...job })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const watched: Record<string, number | undefined> = { ...watch, loadgen: child.pid };
  const lines = createInterface({ input: child.stdout! });
  let before: Record<string, number> = {};
  let kernelBefore: Record<string, number> | undefined;
  let result: Record<string, number> | undefined;
  for await (const line of lines) {
    if (line === 'warm') {
      before = Object.fromEntries(Object.entries(watched).map(([k, pid]) => [k, cpuUs(pid)]));
      kernelBefore = kernelCounters(watched['proxy']);
      child.stdin!.write('go\n');
    } else if (line.startsWith('done ')) {
      const after = Object.fromEntries(Object.entries(watched).map(([k, pid]) => [k, cpuUs(pid)]));
      result = JSON.parse(line.slice(5)) as Record<string, number>;
      const cpu = Object.fromEntries(Object.keys(watched).map((k) => [k, ((after[k] ?? 0) - (before[k] ?? 0)) / job.n]));
      const kernelAfter = kernelCounters(watched['proxy']);
      const kernel = Object.fromEntries(Object.keys(kernelAfter ?? {}).map((k) => [k, (kernelAfter![k]! - (kernelBefore?.[k] ?? Number.NaN)) / job.n]));
      await once(child, 'exit').catch(() => {});
      return { out: result, cpu, kernel };
    }
  }
  throw new Error(`${t.name}: the load generator ended without a result`);
}

/** Two equal halves of one c=N measurement as one: requests over the summed time, CPU per request averaged. */
function combine(m1: Measured, m2: Measured): Measured {
  const n = m1.out['n']! + m2.out['n']!;
  const secs = m1.out['n']! / m1.out['rps']! + m2.out['n']! / m2.out['rps']!;
  const avg = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.keys(a).map((k) => [k, ((a[k] ?? 0) * m1.out['n']! + (b[k] ?? 0) * m2.out['n']!) / n]));
  return { out: { ...m1.out, n, rps: n / secs }, cpu: avg(m1.cpu, m2.cpu), kernel: avg(m1.kernel, m2.kernel) };
}

async function startChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, name: string): Promise<ChildProcess> {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`${name} exited early (code ${code}, signal ${signal})`);
  });
  return child;
}

let stopping = false;

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function ping(origin: string, path: string, headers: Record<string, string> = {}): Promise<boolean> {
  try {
    const r = await fetch(`${origin}${path}`, { headers });
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

/** nginx as a plain reverse proxy (one worker, keep-alive upstream) to the same upstream; undefined when not installed. */
async function startNginx(upstreamPort: number): Promise<{ origin: string; child: ChildProcess; workerPid(): number | undefined; dir: string } | undefined> {
  const bin = findBinary('nginx');
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-nginx-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir};
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server { listen 127.0.0.1:${port};
    location /api/ { proxy_pass http://up/base/; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`,
  );
  const child = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const origin = `http://127.0.0.1:${port}`;
  await waitFor(() => ping(origin, '/api/ok'), { timeoutMs: 10_000 });
  const workerPid = (): number | undefined => {
    try {
      const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return kids.length > 0 ? Number(kids[0]) : undefined;
    } catch {
      return undefined;
    }
  };
  return { origin, child, workerPid, dir };
}

function natsPid(dir: string): number | undefined {
  const f = readdirSync(join(dir, 'ports')).find((n) => /^nats-server_\d+\.ports$/.test(n));
  return f ? Number(/_(\d+)\./.exec(f)![1]) : undefined;
}

// ---- set-up ---------------------------------------------------------------------------------------------------
const nats = await startNats();
const upstream = await startChild(process.execPath, [join(here, 'upstream.mjs')], process.env, 'upstream');
const upstreamPort = Number((await once(createInterface({ input: upstream.stdout! }), 'line'))[0]);
const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
const issuer = await startCiIssuer();
const work = mkdtempSync(join(tmpdir(), 'agentgate-proxy-bench-'));
const configFor = (port: number, dataDir: string, workers?: number): string => `
gateway: { name: bench, listen: { host: 127.0.0.1, port: ${port} }${workers ? `, workers: ${workers}` : ''} }
log: { level: warn }
bus: { natsUrl: ${nats.url}, dataDir: ${dataDir} }
identity: { issuers: [ { name: gh, issuer: ${issuer.issuer}, audiences: [agentgate], profile: github-actions } ] }
connections: [ { name: api, type: http, upstream: ${upstreamUrl}/base, credential: { ref: tok, inject: bearer } } ]
secrets: [ { ref: tok, source: env, env: BENCH_TOKEN } ]
policy: { rules: [ { name: allow-get, actions: ['http.get'], when: "attrs.path.startsWith('/')", decision: allow } ] }
`;
const config = loadConfig({ env: {}, text: configFor(1, join(work, 'data')) });
const backends = await startBackends({ natsUrl: nats.url, name: 'proxy-bench' }, config, { BENCH_TOKEN: 'bench-secret-value-0123456789' });

/** Starts one build of the proxy (its `dist/main.js`) in its own process; resolves once it is ready. */
async function startProxyProcess(main: string, name: string, nodeArgs: string[] = [], workers?: number): Promise<{ child: ChildProcess; origin: string }> {
  const port = await freePort();
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, configFor(port, join(work, `${name}-data`), workers));
  const args = [...nodeArgs, ...(PROF ? ['--cpu-prof', `--cpu-prof-dir=${join(PROF, name)}`] : []), main];
  const child = await startChild(process.execPath, args, { ...process.env, AGENTGATE_CONFIG: file, BENCH_TOKEN: '' }, name);
  child.stdout!.pipe(process.stderr);
  const origin = `http://127.0.0.1:${port}`;
  await waitFor(() => ping(origin, '/_agentgate/readyz'), { timeoutMs: 30_000 });
  return { child, origin };
}

const { child: proxy, origin: proxyOrigin } = await startProxyProcess(proxyMain, 'gateway', words(process.env['NODE_ARGS']), WORKERS);
const base = BASE ? await startProxyProcess(BASE, 'gateway-base', words(process.env['BASE_NODE_ARGS'])) : undefined;
const token = await issuer.mint(githubClaims(), { expiresIn: 3600 });
const nginx = await startNginx(upstreamPort);
// The floor: what a bare node reverse proxy (http server + undici, no gateway work) costs on this machine now.
const plain = await startChild(process.execPath, [join(here, 'plain-proxy.mjs'), upstreamUrl], process.env, 'node-proxy');
const plainOrigin = `http://127.0.0.1:${Number((await once(createInterface({ input: plain.stdout! }), 'line'))[0])}`;

const targets: Target[] = [
  { name: 'direct', origin: upstreamUrl, path: '/base/ok', headers: {} },
  ...(nginx ? [{ name: 'nginx', origin: nginx.origin, path: '/api/ok', headers: {} }] : []),
  { name: 'node-proxy', origin: plainOrigin, path: '/api/ok', headers: {}, proxyPid: plain.pid },
  { name: 'gateway', origin: proxyOrigin, path: '/api/ok', headers: { authorization: `Bearer ${token}` }, proxyPid: proxy.pid },
  ...(base ? [{ name: 'gateway-base', origin: base.origin, path: '/api/ok', headers: { authorization: `Bearer ${token}` }, proxyPid: base.child.pid }] : []),
];
const watch = (t: Target): Record<string, number | undefined> => ({
  proxy: t.proxyPid ?? proxy.pid,
  upstream: upstream.pid,
  'nats-server': natsPid(nats.dir),
  ...(nginx && { nginx: nginx.workerPid() }),
});
const auditBefore = await backends.bus.streams.info('AUDIT_RAW');

console.log(`proxy: ${proxyMain} (built code, own process); load generator, upstream and nginx in their own processes`);
if (BASE) console.log(`gateway-base: ${BASE}`);
console.log(`nats-server ${nats.url} (JetStream file store); c=1: ${SEQ} requests; c=${CONC}: ${TOTAL} requests`);
console.log(
  `machine load before: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (${cpus().length} cores)`,
);

// The proxy at rest (timers, bus heartbeats, fill monitor): what every figure below includes.
const idle0 = cpuUs(proxy.pid);
await new Promise((r) => setTimeout(r, 2000));
console.log(`proxy at rest: ${((cpuUs(proxy.pid) - idle0) / 20_000).toFixed(1)}% of a core`);

// ---- measure --------------------------------------------------------------------------------------------------
const seq = new Map<string, Measured>();
const conc = new Map<string, Measured>();
for (const t of targets) seq.set(t.name, await runLoad(t, { mode: 'seq', n: SEQ }, watch(t)));
if (!base) for (const t of targets) conc.set(t.name, await runLoad(t, { mode: 'conc', n: TOTAL, conc: CONC }, watch(t)));
else {
  // Two builds compared: the machine's load drifts during a run, so each gateway's c=32 figure is two halves
  // in the order A B B A (the same drift on both sides) instead of one block after the other.
  for (const t of targets.filter((x) => !x.name.startsWith('gateway'))) conc.set(t.name, await runLoad(t, { mode: 'conc', n: TOTAL, conc: CONC }, watch(t)));
  const [a, b] = [targets.find((x) => x.name === 'gateway')!, targets.find((x) => x.name === 'gateway-base')!];
  const half = { mode: 'conc' as const, n: Math.ceil(TOTAL / 2), conc: CONC };
  const halves = new Map<string, Measured[]>([
    [a.name, []],
    [b.name, []],
  ]);
  for (const t of [a, b, b, a]) halves.get(t.name)!.push(await runLoad(t, half, watch(t)));
  for (const [name, [m1, m2]] of halves) conc.set(name, combine(m1!, m2!));
}
const auditAfter = await backends.bus.streams.info('AUDIT_RAW');

// ---- report ---------------------------------------------------------------------------------------------------
const f = (v: number | undefined, w: number, d = 3): string => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d)).padStart(w);
const d1 = seq.get('direct')!.out;
const rNginx = conc.get('nginx')?.out['rps'];
console.log(`\ntarget       c=1 p50 ms  p99 ms  added p50  added p99   req/s c=${CONC}  vs nginx  vs direct`);
for (const t of targets) {
  const s = seq.get(t.name)!.out;
  const r = conc.get(t.name)!.out['rps']!;
  console.log(
    `${t.name.padEnd(12)} ${f(s['p50'], 10)} ${f(s['p99'], 7)} ${f(s['p50']! - d1['p50']!, 10)} ${f(s['p99']! - d1['p99']!, 10)} ${f(r, 12, 0)} ${f(rNginx && r / rNginx, 9, 2)} ${f(r / conc.get('direct')!.out['rps']!, 10, 2)}`,
  );
}
console.log('\nCPU µs per request over the measured window, per process (c=1 / c=' + CONC + ')');
const procs = ['proxy', 'nginx', 'upstream', 'nats-server', 'loadgen'];
console.log(`target       ${procs.map((p) => p.padStart(17)).join('')}`);
for (const t of targets) {
  const a = seq.get(t.name)!.cpu;
  const b = conc.get(t.name)!.cpu;
  console.log(`${t.name.padEnd(12)} ${procs.map((p) => (a[p] === undefined ? '-' : `${a[p]!.toFixed(0)} / ${b[p]!.toFixed(0)}`).padStart(17)).join('')}`);
}
console.log(
  `\nthe proxy process per request (c=1 / c=${CONC}): user µs, system µs, read and write syscalls, wake-ups (voluntary context switches of the main thread), preemptions`,
);
console.log(`target       ${['user µs', 'sys µs', 'reads', 'writes', 'wake-ups', 'preempted'].map((p) => p.padStart(15)).join('')}`);
for (const t of targets.filter((x) => x.name.startsWith('gateway'))) {
  const a = seq.get(t.name)!.kernel;
  const b = conc.get(t.name)!.kernel;
  const cell = (k: string, d: number): string => `${(a[k] ?? Number.NaN).toFixed(d)} / ${(b[k] ?? Number.NaN).toFixed(d)}`.padStart(15);
  console.log(
    `${t.name.padEnd(12)} ${cell('userUs', 0)}${cell('sysUs', 0)}${cell('reads', 2)}${cell('writes', 2)}${cell('wakeups', 2)}${cell('preempted', 2)}`,
  );
}
const g = conc.get('gateway')!;
console.log(
  `\ngateway: proxy CPU ${g.cpu['proxy']!.toFixed(0)} µs/request at c=${CONC} (goal <= 100); added p50 ${f(seq.get('gateway')!.out['p50']! - d1['p50']!, 0)} ms (<= 0.5), p99 ${f(seq.get('gateway')!.out['p99']! - d1['p99']!, 0)} ms (<= 2)`,
);
if (rNginx) console.log(`gateway / nginx throughput at c=${CONC}: ${(g.out['rps']! / rNginx).toFixed(2)} (goal >= 0.30)`);
else console.log('nginx not installed (apt-get install -y nginx-light): no nginx baseline in this run');
if (base) {
  const b = conc.get('gateway-base')!;
  console.log(`gateway-base: proxy CPU ${b.cpu['proxy']!.toFixed(0)} µs/request at c=${CONC}; ${f(b.out['rps']!, 0, 0)} req/s`);
}
const stored = auditAfter.messages - auditBefore.messages;
console.log(
  `audit events stored durably during the run: ${stored} (2 per gateway request), ${((auditAfter.bytes - auditBefore.bytes) / Math.max(1, stored)).toFixed(0)} bytes each as stored (headers included)`,
);
console.log(
  `machine load after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

stopping = true;
await stopChild(nginx?.child);
if (nginx) rmSync(nginx.dir, { recursive: true, force: true });
await stopChild(proxy);
await stopChild(base?.child);
await stopChild(plain);
await stopChild(upstream);
await backends.stop();
await issuer.close();
await nats.close();
rmSync(work, { recursive: true, force: true });
