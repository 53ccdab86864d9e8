/**
 * A multi-layer image (default 200 MB in 4 layers) pushed and pulled with
 * skopeo, direct to the upstream registry (Distribution 2.8, htpasswd)
 * versus through the gateway (classify, policy, durable audit, credential
 * injection, Location rewriting, response masking), in the same run, with
 * the gateway's peak RSS growth.
 *
 *   cd services/proxy && npm run bench:registry [-- MB=200 layers=4 rounds=3]
 *
 * Every push gets fresh random layers (gzip-compressed once beforehand, so
 * skopeo sends them as they are): pushing the same blobs twice would let the
 * client mount or skip them, and the run would measure nothing. The gateway,
 * both registries' HTTP clients and the bus client share this process;
 * skopeo and the registries are child processes.
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
 * - the RSS sampler reads process.memoryUsage.rss() (cheap), not
 *   process.memoryUsage() (heap statistics every 10 ms);
 * - besides wall time it reports this process's CPU time per copy (the
 *   gateway's cost, far less sensitive to what else the machine runs than
 *   wall time; the direct copy's figure is the idle cost of the same
 *   process) and the load average, so a loaded machine shows in the figures.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASIC_USER } from '../test/harness.js';
import { startRegistryHarness } from '../test/registry-harness.js';

const MB = 1024 * 1024;
const arg = (name: string, dflt: number): number => Number(process.argv.find((a) => a.startsWith(`${name}=`))?.split('=')[1] ?? dflt);
const size = arg('MB', 200);
const layers = arg('layers', 4);
const rounds = arg('rounds', 3);
// profile=<dir>: a V8 CPU profile of this process per timed copy (<dir>/<op>-<via>-<round>.cpuprofile), for `node --cpu-prof`-style analysis of the copy alone.
const profileDir = process.argv.find((a) => a.startsWith('profile='))?.slice('profile='.length);

function skopeo(args: string[], home: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('skopeo', args, { env: { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: home }, maxBuffer: 64 * MB }, (err, _out, stderr) =>
      err ? reject(new Error(`skopeo ${args[0]} failed: ${stderr.slice(-800)}`)) : resolve(),
    ),
  );
}

const h = await startRegistryHarness();
try {
  const home = join(h.dir, 'bench-home');
  mkdirSync(home, { recursive: true });
  const creds = { direct: `${BASIC_USER}:${h.secrets.hub}`, gateway: `oidc:${h.token}` };
  const image = (via: 'direct' | 'gateway', repo: string): string =>
    via === 'direct' ? `docker://${h.hub.host}/${repo}:1` : `docker://${h.host}/hub/${repo}:1`;
  type Via = 'direct' | 'gateway';
  const results: Record<'push' | 'pull', Record<Via, number[]>> = { push: { direct: [], gateway: [] }, pull: { direct: [], gateway: [] } };
  const cpu: Record<'push' | 'pull', Record<Via, number[]>> = { push: { direct: [], gateway: [] }, pull: { direct: [], gateway: [] } };
  const growth: number[] = [];
  const load = (): string => loadavg()[0]?.toFixed(1) ?? '?';
  const loads: string[] = [load()];
  const session = profileDir ? new Session() : undefined;
  if (session && profileDir) {
    mkdirSync(profileDir, { recursive: true });
    session.connect();
    await session.post('Profiler.enable');
  }
  const measure = async <T>(fn: () => Promise<T>, name: string): Promise<{ ms: number; cpuMs: number; grew: number }> => {
    if (session) await session.post('Profiler.start');
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 10);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    try {
      await fn();
    } finally {
      clearInterval(sampler);
    }
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (session && profileDir) writeFileSync(join(profileDir, `${name}.cpuprofile`), JSON.stringify((await session.post('Profiler.stop')).profile));
    return { ms, cpuMs: (c.user + c.system) / 1000, grew: (peak - baseline) / MB };
  };
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
  const here = dirname(fileURLToPath(import.meta.url));
  execFileSync(process.execPath, ['--conditions=agentgate-source', '--import', 'tsx', join(here, 'registry-images.ts'), JSON.stringify(jobs)], { stdio: 'inherit' });
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
      if (via === 'gateway') growth.push(pushed.grew, pulled.grew);
      console.log(
        `round ${r + 1} ${via.padEnd(7)} push ${pushed.ms.toFixed(0).padStart(6)} ms (cpu ${pushed.cpuMs.toFixed(0).padStart(5)} ms)  pull ${pulled.ms.toFixed(0).padStart(6)} ms (cpu ${pulled.cpuMs.toFixed(0).padStart(5)} ms)  load ${load()}` +
          (via === 'gateway' ? `   RSS growth push ${pushed.grew.toFixed(1)} MB, pull ${pulled.grew.toFixed(1)} MB` : ''),
      );
    }
  }
  loads.push(load());
  const med = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
  };
  console.log(`\n${size} MB in ${layers} layers (skopeo), median of ${rounds}, load average ${loads.join(' -> ')} on ${availableParallelism()} cores:`);
  for (const op of ['push', 'pull'] as const) {
    const d = med(results[op].direct);
    const g = med(results[op].gateway);
    console.log(
      `  ${op}: direct ${d.toFixed(0)} ms, gateway ${g.toFixed(0)} ms, ratio ${(g / d).toFixed(2)}x (goal <= 1.1x);` +
        ` this process's CPU: ${med(cpu[op].gateway).toFixed(0)} ms through the gateway, ${med(cpu[op].direct).toFixed(0)} ms idle beside the direct copy`,
    );
  }
  console.log(`  gateway peak RSS growth ${Math.max(...growth).toFixed(1)} MB (goal < 50 MB)`);
} finally {
  await h.close();
}
