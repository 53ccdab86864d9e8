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
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BASIC_USER } from '../test/harness.js';
import { startRegistryHarness, writeBigOciImage } from '../test/registry-harness.js';

const MB = 1024 * 1024;
const arg = (name: string, dflt: number): number => Number(process.argv.find((a) => a.startsWith(`${name}=`))?.split('=')[1] ?? dflt);
const size = arg('MB', 200);
const layers = arg('layers', 4);
const rounds = arg('rounds', 3);

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
  const image = (via: 'direct' | 'gateway', repo: string): string => (via === 'direct' ? `docker://${h.hub.host}/${repo}:1` : `docker://${h.host}/hub/${repo}:1`);
  type Via = 'direct' | 'gateway';
  const results: Record<'push' | 'pull', Record<Via, number[]>> = { push: { direct: [], gateway: [] }, pull: { direct: [], gateway: [] } };
  const growth: number[] = [];
  const measure = async <T>(fn: () => Promise<T>): Promise<{ ms: number; grew: number }> => {
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    const t0 = performance.now();
    try {
      await fn();
    } finally {
      clearInterval(sampler);
    }
    return { ms: performance.now() - t0, grew: (peak - baseline) / MB };
  };
  for (let r = 0; r < rounds; r++) {
    for (const via of r % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const)) {
      const repo = `bench/${via}-${r}`;
      const src = writeBigOciImage(join(h.dir, `src-${via}-${r}`), { mb: size, layers });
      const push = await measure(() => skopeo(['copy', '-q', '--dest-tls-verify=false', '--dest-creds', creds[via], src, image(via, repo)], home));
      const pull = await measure(() =>
        skopeo(['copy', '-q', '--src-tls-verify=false', '--src-creds', creds[via], image(via, repo), `oci:${join(h.dir, `pulled-${via}-${r}`)}`], home),
      );
      results.push[via].push(push.ms);
      results.pull[via].push(pull.ms);
      if (via === 'gateway') growth.push(push.grew, pull.grew);
      console.log(
        `round ${r + 1} ${via.padEnd(7)} push ${push.ms.toFixed(0).padStart(6)} ms  pull ${pull.ms.toFixed(0).padStart(6)} ms` +
          (via === 'gateway' ? `   RSS growth push ${push.grew.toFixed(1)} MB, pull ${pull.grew.toFixed(1)} MB` : ''),
      );
    }
  }
  const med = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
  };
  console.log(`\n${size} MB in ${layers} layers (skopeo), median of ${rounds}:`);
  for (const op of ['push', 'pull'] as const) {
    const d = med(results[op].direct);
    const g = med(results[op].gateway);
    console.log(`  ${op}: direct ${d.toFixed(0)} ms, gateway ${g.toFixed(0)} ms, ratio ${(g / d).toFixed(2)}x (goal <= 1.1x)`);
  }
  console.log(`  gateway peak RSS growth ${Math.max(...growth).toFixed(1)} MB (goal < 50 MB)`);
} finally {
  await h.close();
}
