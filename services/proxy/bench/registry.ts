/**
 * A multi-layer image (default 200 MB in 4 layers) pushed and pulled with
 * skopeo, direct to the upstream registry (Distribution 2.8, htpasswd)
 * versus through the gateway (classify, policy, durable audit, credential
 * injection, Location rewriting, response masking), in the same run, with
 * the gateway's peak RSS growth.
 *
 *   cd services/proxy && npm run bench:registry [-- MB=200 layers=4 rounds=3 gateway=dist|inline profile=<dir> dist=<dir>]
 *
 * The gateway runs as in production by default (`gateway=dist`): the BUILT
 * proxy (`dist/main.js`; the npm script builds it) in a process of its own,
 * whose CPU time (/proc/<pid>/stat) and RSS are what the figures report.
 * This process holds nats-server's parent, identity, the secret broker and
 * the registries' parents, idle while measuring. `gateway=inline` runs the
 * proxy in this process from source instead (the test harness's), where
 * `profile=<dir>` writes a V8 CPU profile per timed copy; with
 * `gateway=dist`, `profile=<dir>` runs the gateway with `--cpu-prof` there.
 * `dist=<dir>` runs the build in <dir> instead of dist/ (a copy of another
 * commit's dist/ inside the repository, e.g. services/proxy/node_modules/.base-dist,
 * so its imports resolve): two builds compared run by run, alternated.
 *
 * Every push gets fresh random layers (gzip-compressed once beforehand, so
 * skopeo sends them as they are): pushing the same blobs twice would let the
 * client mount or skip them, and the run would measure nothing. skopeo and
 * the registries are child processes.
 *
 * The machine is often shared, so the run is built to be fair to both sides:
 * - every image is written before the first timed copy, in a child process
 *   (bench/registry-images.ts): writing one makes ~0.5 GB of garbage, which
 *   must not land in the gateway's heap. The gateway's heap is never
 *   collected by force either: a forced full GC (`global.gc()`) leaves V8
 *   with an old-generation limit so tight that the next copy runs
 *   back-to-back mark-compacts (7-8 instead of 0-2 per 200 MB, doubling the
 *   gateway's CPU), which a long-running gateway never sees;
 * - one small unmeasured push and pull per side first (a real gateway is
 *   long-running: its code is compiled and its start-up garbage collected);
 * - direct and gateway alternate order each round, medians are reported;
 * - the RSS sampler reads the resident set only (every 10 ms);
 * - besides wall time it reports the gateway process's CPU time per copy
 *   (its cost, far less sensitive to what else the machine runs than wall
 *   time; the direct copy's figure is the idle cost of the same process;
 *   `sys` is its kernel share: the socket reads and writes) and the load
 *   average, so a loaded machine shows in the figures;
 * - and the CPU time of skopeo (this process's waited-for children) and of
 *   the upstream registry's process per copy. On a machine whose cores are
 *   all busy, a copy's wall time follows the CPU it needs, so the summary's
 *   "x the direct copy's CPU" (gateway + skopeo + registry over skopeo +
 *   registry direct) is the wall-time ratio to expect there.
 *
 * With `profile=<dir>` and the built gateway, <dir>/windows.json holds each
 * timed copy's span on the monotonic clock (µs, the clock of the profile's
 * timestamps), to pick one copy's samples out of the whole-run profile.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@agentgate/testkit';
import { BASIC_USER } from '../test/harness.js';
import { startRegistryHarness } from '../test/registry-harness.js';

const MB = 1024 * 1024;
const arg = (name: string, dflt: number): number => Number(process.argv.find((a) => a.startsWith(`${name}=`))?.split('=')[1] ?? dflt);
const size = arg('MB', 200);
const layers = arg('layers', 4);
const rounds = arg('rounds', 3);
// profile=<dir>: a V8 CPU profile of this process per timed copy (<dir>/<op>-<via>-<round>.cpuprofile), for `node --cpu-prof`-style analysis of the copy alone.
const profileDir = process.argv.find((a) => a.startsWith('profile='))?.slice('profile='.length);
const inline = process.argv.includes('gateway=inline');
// node=<flag,flag>: extra node flags for the built gateway (e.g. node=--trace-gc, which also counts its mark-compacts per copy;
// node=--heap-growing-percent=0 runs it with V8's own growing factor instead of src/lib/heap-growth.ts's); verbose: a line before each timed copy.
const nodeFlags =
  process.argv
    .find((a) => a.startsWith('node='))
    ?.slice('node='.length)
    .split(',')
    .filter(Boolean) ?? [];
const verbose = process.argv.includes('verbose');
const here = dirname(fileURLToPath(import.meta.url));
const distDir = resolve(process.argv.find((a) => a.startsWith('dist='))?.slice('dist='.length) ?? join(here, '..', 'dist'));
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const PAGE = Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) || 4096;

/** How the gateway's CPU time (ms) and resident set (bytes) are read: this process's, or the built gateway's. */
interface Meter {
  cpuMs(): number;
  /** Kernel-mode share of cpuMs (socket reads and writes, the loopback copies). */
  sysMs(): number;
  rss(): number;
}
const selfMeter: Meter = {
  cpuMs: () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  },
  sysMs: () => process.cpuUsage().system / 1000,
  rss: () => process.memoryUsage.rss(),
};
function procMeter(pid: number): Meter {
  return {
    cpuMs: () => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 of proc(5) (utime, stime); f[0] is field 3.
      return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
    },
    sysMs: () => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) * 1000) / CLK_TCK;
    },
    rss: () => Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE,
  };
}

/** CPU time (ms) of this process's waited-for children: skopeo, the only child that exits during a timed copy (proc(5) cutime, cstime). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
}

/** The upstream registry's process (docker-registry serving `configFile`), to read its CPU time per copy. */
function registryMeter(configFile: string): Meter | undefined {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('docker-registry') && cmd.includes(configFile)) return procMeter(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Mark-compacts the built gateway reported so far (its `--trace-gc` lines; 0 without that flag). */
let markCompacts = 0;
const tracingGc = nodeFlags.includes('--trace-gc');

/** The built proxy in its own process, with the harness's configuration on its own port; resolves once it is ready. */
async function startBuiltGateway(configText: string, natsUrl: string, dir: string): Promise<{ child: ChildProcess; host: string }> {
  const port = await freePort();
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `${configText.replace('gateway:\n', `gateway:\n  listen: { host: 127.0.0.1, port: ${port} }\n`)}\nbus: { natsUrl: ${natsUrl}, dataDir: ${join(dir, 'gateway-data')} }\nlog: { level: warn }\n`,
  );
  const args = [...nodeFlags, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), join(distDir, 'main.js')];
  // The secrets are the broker's (in this process); the gateway never reads them.
  const env = { PATH: process.env.PATH, AGENTGATE_CONFIG: file, REGISTRY_TEST_HUB_PASSWORD: '', REGISTRY_TEST_TOK_PASSWORD: '' };
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  // Passed through; with node=--trace-gc the gateway's mark-compacts are counted per copy (markCompacts).
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    const lines = (partial + chunk.toString('latin1')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.includes(': Mark-Compact')) markCompacts++;
  });
  const host = `127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`the built gateway exited (code ${child.exitCode}); is ${distDir} built? (npm run build -w @agentgate/proxy)`);
      try {
        return (await fetch(`http://${host}/_agentgate/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000 },
  );
  return { child, host };
}

function skopeo(args: string[], home: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('skopeo', args, { env: { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: home }, maxBuffer: 64 * MB }, (err, _out, stderr) =>
      err ? reject(new Error(`skopeo ${args[0]} failed: ${stderr.slice(-800)}`)) : resolve(),
    ),
  );
}

const h = await startRegistryHarness();
let built: { child: ChildProcess; host: string } | undefined;
try {
  built = inline ? undefined : await startBuiltGateway(h.configText, h.nats.url, h.dir);
  const meter = built?.child.pid !== undefined ? procMeter(built.child.pid) : selfMeter;
  const gatewayHost = built?.host ?? h.host;
  const home = join(h.dir, 'bench-home');
  mkdirSync(home, { recursive: true });
  const creds = { direct: `${BASIC_USER}:${h.secrets.hub}`, gateway: `oidc:${h.token}` };
  const image = (via: 'direct' | 'gateway', repo: string): string =>
    via === 'direct' ? `docker://${h.hub.host}/${repo}:1` : `docker://${gatewayHost}/hub/${repo}:1`;
  type Via = 'direct' | 'gateway';
  const results: Record<'push' | 'pull', Record<Via, number[]>> = { push: { direct: [], gateway: [] }, pull: { direct: [], gateway: [] } };
  const cpu: Record<'push' | 'pull', Record<Via, number[]>> = { push: { direct: [], gateway: [] }, pull: { direct: [], gateway: [] } };
  const growth: number[] = [];
  // CPU of skopeo and the registry per copy: with the gateway's, what the copy costs the machine (see the summary).
  const others: Record<Via, Record<'push' | 'pull', number[]>> = { direct: { push: [], pull: [] }, gateway: { push: [], pull: [] } };
  const compacts: Record<'push' | 'pull', number[]> = { push: [], pull: [] };
  const load = (): string => loadavg()[0]?.toFixed(1) ?? '?';
  const loads: string[] = [load()];
  const session = profileDir && inline ? new Session() : undefined;
  if (session && profileDir) {
    mkdirSync(profileDir, { recursive: true });
    session.connect();
    await session.post('Profiler.enable');
  }
  // Each timed copy's span on the monotonic clock (µs, the clock of a V8 CPU profile's timestamps): with gateway=dist and
  // profile=<dir>, <dir>/windows.json lets an analysis pick out one copy's samples from the gateway's whole-run profile.
  const windows: Array<{ name: string; startUs: number; endUs: number }> = [];
  const upstreamMeter = registryMeter(h.hub.configFile);
  const measure = async <T>(
    fn: () => Promise<T>,
    name: string,
  ): Promise<{ ms: number; cpuMs: number; sysMs: number; clientMs: number; registryMs: number; grew: number; mc: number }> => {
    const mc0 = markCompacts;
    if (session) await session.post('Profiler.start');
    if (verbose) console.log(`--- ${name}`);
    const baseline = meter.rss();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, meter.rss());
    }, 10);
    const c0 = meter.cpuMs();
    const s0 = meter.sysMs();
    const k0 = childrenCpuMs();
    const r0 = upstreamMeter?.cpuMs() ?? 0;
    const t0 = performance.now();
    const w0 = process.hrtime.bigint() / 1000n;
    try {
      await fn();
    } finally {
      clearInterval(sampler);
    }
    const ms = performance.now() - t0;
    windows.push({ name, startUs: Number(w0), endUs: Number(process.hrtime.bigint() / 1000n) });
    const cpuMs = meter.cpuMs() - c0;
    const sysMs = meter.sysMs() - s0;
    const clientMs = childrenCpuMs() - k0;
    const registryMs = (upstreamMeter?.cpuMs() ?? 0) - r0;
    if (session && profileDir) writeFileSync(join(profileDir, `${name}.cpuprofile`), JSON.stringify((await session.post('Profiler.stop')).profile));
    return { ms, cpuMs, sysMs, clientMs, registryMs, grew: (peak - baseline) / MB, mc: markCompacts - mc0 };
  };
  const mcs = (n: number): string => (tracingGc && !inline ? `, ${n} mark-compacts` : '');
  const push = (via: Via, src: string, repo: string) =>
    skopeo(['copy', '-q', '--dest-tls-verify=false', '--dest-creds', creds[via], src, image(via, repo)], home);
  const pull = (via: Via, repo: string, dest: string) =>
    skopeo(['copy', '-q', '--src-tls-verify=false', '--src-creds', creds[via], image(via, repo), `oci:${join(h.dir, dest)}`], home);
  // Every image first, in a child process: see the header.
  const sources = new Map<string, string>();
  const jobs: Array<{ dir: string; mb: number; layers: number }> = [];
  for (let r = 0; r < rounds; r++)
    for (const via of ['direct', 'gateway'] as const) {
      const dir = join(h.dir, `src-${via}-${r}`);
      jobs.push({ dir, mb: size, layers });
      sources.set(`${via}-${r}`, `oci:${dir}`);
    }
  for (const via of ['direct', 'gateway'] as const) jobs.push({ dir: join(h.dir, `warm-${via}`), mb: 8, layers: 2 });
  execFileSync(process.execPath, ['--conditions=agentgate-source', '--import', 'tsx', join(here, 'registry-images.ts'), JSON.stringify(jobs)], {
    stdio: 'inherit',
  });
  for (const via of ['direct', 'gateway'] as const) {
    await push(via, `oci:${join(h.dir, `warm-${via}`)}`, `bench/warm-${via}`);
    await pull(via, `bench/warm-${via}`, `warm-pulled-${via}`);
  }
  for (let r = 0; r < rounds; r++) {
    for (const via of r % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const)) {
      const repo = `bench/${via}-${r}`;
      const pushed = await measure(() => push(via, sources.get(`${via}-${r}`) as string, repo), `push-${via}-${r}`);
      const pulled = await measure(() => pull(via, repo, `pulled-${via}-${r}`), `pull-${via}-${r}`);
      results.push[via].push(pushed.ms);
      results.pull[via].push(pulled.ms);
      cpu.push[via].push(pushed.cpuMs);
      cpu.pull[via].push(pulled.cpuMs);
      if (via === 'gateway') {
        growth.push(pushed.grew, pulled.grew);
        compacts.push.push(pushed.mc);
        compacts.pull.push(pulled.mc);
      }
      const fmt = (x: typeof pushed): string =>
        `${x.ms.toFixed(0).padStart(6)} ms (gateway cpu ${x.cpuMs.toFixed(0).padStart(5)} ms, sys ${x.sysMs.toFixed(0).padStart(4)}${mcs(x.mc)}; skopeo ${x.clientMs.toFixed(0).padStart(5)}, registry ${x.registryMs.toFixed(0).padStart(4)})`;
      console.log(
        `round ${r + 1} ${via.padEnd(7)} push ${fmt(pushed)}  pull ${fmt(pulled)}  load ${load()}` +
          (via === 'gateway' ? `   RSS growth push ${pushed.grew.toFixed(1)} MB, pull ${pulled.grew.toFixed(1)} MB` : ''),
      );
      (others[via].push as number[]).push(pushed.clientMs + pushed.registryMs);
      (others[via].pull as number[]).push(pulled.clientMs + pulled.registryMs);
    }
  }
  loads.push(load());
  if (profileDir && !inline) {
    mkdirSync(profileDir, { recursive: true });
    writeFileSync(join(profileDir, 'windows.json'), JSON.stringify(windows));
  }
  const med = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
  };
  const where = inline ? 'the proxy in this process, from source' : `the built proxy (${distDir}/main.js) in its own process`;
  console.log(
    `\n${size} MB in ${layers} layers (skopeo), median of ${rounds}, load average ${loads.join(' -> ')} on ${availableParallelism()} cores; gateway: ${where}`,
  );
  for (const op of ['push', 'pull'] as const) {
    const d = med(results[op].direct);
    const g = med(results[op].gateway);
    console.log(
      `  ${op}: direct ${d.toFixed(0)} ms, gateway ${g.toFixed(0)} ms, ratio ${(g / d).toFixed(2)}x (goal <= 1.1x);` +
        ` the gateway process's CPU: ${med(cpu[op].gateway).toFixed(0)} ms through it, ${med(cpu[op].direct).toFixed(0)} ms idle beside the direct copy`,
    );
    // On a CPU-bound machine the copy's wall time follows the CPU it needs: this ratio is what the gateway costs there.
    const od = med(others.direct[op]);
    const og = med(others.gateway[op]);
    console.log(
      `    skopeo + registry CPU: direct ${od.toFixed(0)} ms, through the gateway ${og.toFixed(0)} ms; with the gateway's: ${(og + med(cpu[op].gateway)).toFixed(0)} ms, ${((og + med(cpu[op].gateway)) / od).toFixed(2)}x the direct copy's CPU`,
    );
  }
  if (tracingGc && !inline) console.log(`  the gateway's mark-compacts per copy: push ${compacts.push.join(', ')}; pull ${compacts.pull.join(', ')}`);
  console.log(`  gateway peak RSS growth ${Math.max(...growth).toFixed(1)} MB (goal < 50 MB)`);
} finally {
  if (built && built.child.exitCode === null) {
    built.child.kill('SIGTERM');
    await once(built.child, 'exit');
  }
  await h.close();
}
