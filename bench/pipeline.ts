/**
 * Whole-pipeline benchmark (issue 21): fixed-rate steps of small authenticated GETs through
 * the proxy, with every service its own process running the BUILT code, on a real
 * nats-server (JetStream) and one OpenSearch node. Per step: achieved actions/s, client
 * latency, the audit streams' backlog, lag from response to searchable, a zero-loss check and
 * CPU µs per action of every process. A baseline (the same load straight to the upstream)
 * runs first in the same run.
 *
 *   npm run bench                                # defaults: 250,500,1000,1600,2500 actions/s, 15 s each
 *   npm run bench -- --quick                     # 2 steps of 6 s
 *   npm run bench -- --rates 500,1000 --seconds 30 --no-build
 *
 * A warm-up (--warmup seconds at the first rate, not measured, then drained) runs before
 * anything is measured: a JVM and V8 just started spend most of their first half minute compiling,
 * which the first step would otherwise be charged for.
 *
 * Flags: --rates, --seconds, --warmup, --baseline-seconds, --connections, --max-in-flight, --tokens,
 * --lag-samples (per second), --drain-timeout (s), --log-level, --heap, --out FILE, --no-build.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LagPoller } from './lib/lag-poller.js';
import { checkLoss } from './lib/loss-check.js';
import { ingestLag, refresh, streamBacklog } from './lib/observe.js';
import { cpuDelta, cpuSnapshot } from './lib/proc-cpu.js';
import type { LoadgenMessage, StepOrder, StepResult } from './lib/protocol.js';
import { type BaselineRow, type IdleRow, printReport, type StepRow } from './lib/report.js';
import { CONNECTION, SERVICES, type Stack, startStack } from './lib/stack.js';
import { traceIdOf } from './lib/trace-id.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rates: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    'baseline-seconds': { type: 'string' },
    connections: { type: 'string', default: '64' },
    'max-in-flight': { type: 'string' },
    tokens: { type: 'string', default: '8' },
    'lag-samples': { type: 'string', default: '20' },
    'drain-timeout': { type: 'string', default: '60' },
    'log-level': { type: 'string', default: 'info' },
    heap: { type: 'string', default: '1g' },
    out: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
  },
});

function num(name: string, v: string | undefined, fallback: number, min = Number.MIN_VALUE): number {
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: expected a number of at least ${min === Number.MIN_VALUE ? 'more than 0' : min}, got ${v}`);
  return n;
}

const opts = {
  rates: (flags.rates ?? (flags.quick ? '250,1000' : '250,500,1000,1600,2500')).split(',').map((r) => num('rates', r, 0)),
  seconds: num('seconds', flags.seconds, flags.quick ? 6 : 15),
  warmupSeconds: num('warmup', flags.warmup, flags.quick ? 10 : 30, 0),
  baselineSeconds: num('baseline-seconds', flags['baseline-seconds'], flags.quick ? 3 : 4),
  connections: num('connections', flags.connections, 64),
  // Past one request per connection, requests would wait in the client's queue and its latency would hide the gateway's.
  maxInFlight: num('max-in-flight', flags['max-in-flight'], num('connections', flags.connections, 64)),
  tokens: num('tokens', flags.tokens, 8),
  lagSamples: num('lag-samples', flags['lag-samples'], 20, 0),
  drainTimeoutMs: num('drain-timeout', flags['drain-timeout'], 60) * 1000,
  logLevel: flags['log-level'] ?? 'info',
  heap: flags.heap ?? '1g',
};

const say = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Services run from dist: build them (turbo skips what is fresh), or with --no-build refuse a dist older than its sources. */
function ensureBuilt(): void {
  if (!flags['no-build']) {
    say('npx turbo run build (the services run from dist)');
    const r = spawnSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`turbo run build failed (${r.status})`);
  }
  for (const name of SERVICES) {
    const main = join(ROOT, 'services', name, 'dist', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run without --no-build (or npx turbo run build)`);
    const src = join(ROOT, 'services', name, 'src', 'main.ts');
    if (flags['no-build'] && statSync(src).mtimeMs > statSync(main).mtimeMs) {
      throw new Error(`services/${name}/dist is older than its sources: run without --no-build`);
    }
  }
}

/** The load generator process and a way to run one step on it. */
function startLoadgen(): Promise<{ proc: ChildProcess; run(o: Omit<StepOrder, 'type'>, onSample?: (n: number, at: number) => void): Promise<StepResult> }> {
  const proc = fork(join(ROOT, 'bench/lib/loadgen.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let onMessage: ((m: LoadgenMessage) => void) | undefined;
  proc.on('message', (m: LoadgenMessage) => onMessage?.(m));
  const run = (o: Omit<StepOrder, 'type'>, onSample?: (n: number, at: number) => void) =>
    new Promise<StepResult>((resolvePromise, reject) => {
      onMessage = (m) => {
        if (m.type === 'samples') for (const [n, at] of m.items) onSample?.(n, at);
        else if (m.type === 'result') resolvePromise(m);
        else if (m.type === 'error') reject(new Error(`load generator: ${m.message}`));
      };
      proc.send({ type: 'step', ...o } satisfies StepOrder);
    });
  return new Promise((resolvePromise, reject) => {
    onMessage = (m) => m.type === 'ready' && resolvePromise({ proc, run });
    proc.once('exit', (code) => reject(new Error(`the load generator exited (${code})`)));
  });
}

type Backlogs = Awaited<ReturnType<typeof streamBacklog>>;
const backlogTotal = (b: Backlogs) => b.AUDIT_RAW.messages + b.AUDIT_CLEAN.messages;

/** Waits until both audit streams are empty (twice in a row) and the lag poller is done, or the timeout. */
async function drain(stack: Stack, lag: LagPoller, timeoutMs: number): Promise<{ drained: boolean; ms: number }> {
  const t0 = performance.now();
  let zeros = 0;
  while (performance.now() - t0 < timeoutMs) {
    const b = await streamBacklog(stack.nats.monitorUrl);
    zeros = backlogTotal(b) === 0 ? zeros + 1 : 0;
    if (zeros >= 2 && lag.pending === 0) return { drained: true, ms: performance.now() - t0 };
    await sleep(250);
  }
  return { drained: false, ms: performance.now() - t0 };
}

/** Backlog growth (events per second) over the samples taken from `from` on (the second half of a step). */
function growthPerSecond(samples: Array<{ at: number; total: number }>, from: number): number | undefined {
  const late = samples.filter((x) => x.at >= from);
  const first = late[0];
  const last = late.at(-1);
  if (!first || !last || last.at - first.at < 1000) return undefined;
  return ((last.total - first.total) / (last.at - first.at)) * 1000;
}

type Loadgen = Awaited<ReturnType<typeof startLoadgen>>;

/**
 * One fixed-rate step through the proxy. CPU is taken from the step's start until the pipeline
 * drained, so work the step left in the streams is charged to it; then the zero-loss check.
 */
async function pipelineStep(stack: Stack, loadgen: Loadgen, pids: () => Record<string, number | undefined>, prefix: string, rate: number): Promise<StepRow> {
  const lag = new LagPoller(stack.os.url);
  lag.start();
  const backlogs: Array<{ at: number; total: number }> = [];
  const sampler = setInterval(
    () =>
      void streamBacklog(stack.nats.monitorUrl).then(
        (b) => backlogs.push({ at: performance.now(), total: backlogTotal(b) }),
        () => undefined,
      ),
    1000,
  );
  const c0 = cpuSnapshot(pids());
  const t0 = performance.now();
  const result = await loadgen.run(
    {
      origin: stack.proxyOrigin,
      pathPrefix: `/${CONNECTION}/bench/`,
      rate,
      seconds: opts.seconds,
      tokens: stack.tokens,
      tracePrefix: prefix,
      connections: opts.connections,
      maxInFlight: opts.maxInFlight,
      samplesPerSecond: opts.lagSamples,
    },
    (n, at) => lag.add(traceIdOf(prefix, n), at),
  );
  clearInterval(sampler);
  const c1 = cpuSnapshot(pids());
  const endBacklog = await streamBacklog(stack.nats.monitorUrl);
  const drained = await drain(stack, lag, opts.drainTimeoutMs);
  const c2 = cpuSnapshot(pids());
  const lagFigures = lag.stop();
  await refresh(stack.os.url);
  const loss = await checkLoss(stack.os.url, prefix, result.sent, result.failed, result.failedCount);
  const ingest = await ingestLag(stack.os.url, prefix).catch(() => undefined);
  const whole = cpuDelta(c0, c2);
  return {
    rate,
    result,
    backlogEnd: endBacklog,
    backlogMax: Math.max(backlogTotal(endBacklog), ...backlogs.map((b) => b.total)),
    backlogGrowth: growthPerSecond(backlogs, t0 + (opts.seconds * 1000) / 2),
    drain: drained,
    lag: lagFigures,
    ingestLag: ingest,
    loss,
    cpu: whole.perProcess,
    machineBusyMicros: whole.machineBusyMicros,
    machineBusy: cpuDelta(c0, c1).machineBusy,
  };
}

/** Load through the proxy at the first rate for --warmup seconds, not measured, then drained: the JIT compilers' work is not charged to a step. */
async function warmUp(stack: Stack, loadgen: Loadgen, prefix: string): Promise<void> {
  const rate = opts.rates[0] ?? 250;
  const t0 = performance.now();
  const r = await loadgen.run({
    origin: stack.proxyOrigin,
    pathPrefix: `/${CONNECTION}/bench/`,
    rate,
    seconds: opts.warmupSeconds,
    tokens: stack.tokens,
    tracePrefix: prefix,
    connections: opts.connections,
    maxInFlight: opts.maxInFlight,
    samplesPerSecond: 0,
  });
  const lag = new LagPoller(stack.os.url);
  const drained = await drain(stack, lag, opts.drainTimeoutMs);
  lag.stop();
  say(
    `warm-up (not measured) at ${rate}/s for ${opts.warmupSeconds} s: ${((r.ok / r.elapsedMs) * 1000).toFixed(0)}/s, ` +
      `drained ${drained.drained ? 'in' : 'NOT within'} ${(drained.ms / 1000).toFixed(1)} s; ${((performance.now() - t0) / 1000).toFixed(0)} s in all`,
  );
}

/** CPU µs per second of each process over 3 s with no load, and the machine's busy share meanwhile. */
async function measureIdle(when: string, pids: () => Record<string, number | undefined>): Promise<IdleRow> {
  const a = cpuSnapshot(pids());
  await sleep(3000);
  const d = cpuDelta(a, cpuSnapshot(pids()));
  const perSecond = Object.fromEntries(Object.entries(d.perProcess).map(([p, v]) => [p, v === undefined ? undefined : (v / d.wallMs) * 1000]));
  return { when, perSecond, machineBusy: d.machineBusy };
}

async function main(): Promise<void> {
  const started = new Date();
  const load0 = loadavg();
  say(`load average ${load0.map((l) => l.toFixed(2)).join(' ')} — the machine may be shared: other work shows in "machine busy" and "other CPU"`);
  ensureBuilt();
  const stack = await startStack({ root: ROOT, logLevel: opts.logLevel, heap: opts.heap, tokens: opts.tokens }, say);
  const loadgen = await startLoadgen();
  const pids = () => ({ ...stack.pids(), loadgen: loadgen.proc.pid, bench: process.pid });
  const runTag = randomBytes(4).toString('hex');
  const baseline: BaselineRow[] = [];
  // What each process burns with no load (timers, heartbeats, the JVM): at low rates it weighs on the per-action figures.
  const idle: IdleRow[] = [];
  const steps: StepRow[] = [];
  try {
    if (opts.warmupSeconds > 0) await warmUp(stack, loadgen, `${runTag}ee`);
    idle.push(await measureIdle('before', pids));
    for (const rate of opts.rates) {
      const c0 = cpuSnapshot(pids());
      const r = await loadgen.run({
        origin: stack.upstream.origin,
        pathPrefix: '/bench/',
        rate,
        seconds: opts.baselineSeconds,
        tokens: [],
        tracePrefix: `${runTag}ff`,
        connections: opts.connections,
        maxInFlight: opts.maxInFlight,
        samplesPerSecond: 0,
      });
      const d = cpuDelta(c0, cpuSnapshot(pids()));
      baseline.push({ rate, result: r, cpu: d.perProcess, machineBusy: d.machineBusy });
      say(`baseline (direct to the upstream) at ${rate}/s: ${((r.ok / r.elapsedMs) * 1000).toFixed(0)}/s, p50 ${r.latency.p50.toFixed(2)} ms`);
    }
    for (const [i, rate] of opts.rates.entries()) {
      const row = await pipelineStep(stack, loadgen, pids, `${runTag}${i.toString(16).padStart(2, '0')}`, rate);
      steps.push(row);
      say(
        `step ${i + 1}/${opts.rates.length} at ${rate}/s: ${((row.result.ok / row.result.elapsedMs) * 1000).toFixed(0)}/s, p50 ${row.result.latency.p50.toFixed(1)} ms, ` +
          `backlog at the end ${backlogTotal(row.backlogEnd)}, drained in ${(row.drain.ms / 1000).toFixed(1)} s${row.drain.drained ? '' : ' (NOT drained)'}, ` +
          `missing ${row.loss.missing}, duplicated ${row.loss.duplicated}`,
      );
      await sleep(1000);
    }
    // Again once the load is over.
    idle.push(await measureIdle('after', pids));
  } finally {
    const summary = printReport({ opts, idle, baseline, steps, started, load: { start: load0, end: loadavg() }, pids: pids(), dir: stack.dir });
    const out = flags.out ?? join(ROOT, 'bench/results', `pipeline-${started.toISOString().replace(/[:.]/g, '-')}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
    say(`JSON summary: ${out}`);
    loadgen.proc.disconnect();
    await stack.close();
  }
}

main().then(
  () => process.exit(0),
  (err: Error & { logs?: string }) => {
    console.error(`pipeline bench failed: ${err.stack ?? err.message}`);
    if (err.logs) console.error(err.logs);
    process.exit(1);
  },
);
