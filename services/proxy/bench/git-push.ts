/**
 * 100 MB push, direct to the upstream (git http-backend) versus through
 * the gateway (spool → mirror fetch → quarantine index-pack → ancestry →
 * policy → forward), with the gateway's peak RSS growth.
 *
 *   cd services/proxy && node --conditions=agentgate-source --import tsx bench/git-push.ts [MB=100] [rounds=3]
 *
 * Gateway, upstream HTTP server and bus client share this process; the git
 * client, http-backend and the gateway's own git runs are child processes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientHome, GIT_USER, git, startGitHarness } from '../test/git-harness.js';
import { measureRss } from '../test/rss.js';

const MB = 1024 * 1024;
const size = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 3);

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => execFile(cmd, args, { cwd, env, maxBuffer: 64 * MB }, (err) => (err ? reject(err) : resolve())));
}

const h = await startGitHarness({ maxBodyBytes: (size + 64) * MB });
try {
  const { env } = clientHome(h, 'bench', h.token);
  env.GIT_TRACE_CURL = '';
  await h.git.createRepo('seed', { withCommits: 1 });
  const work = join(h.dir, 'work');
  const seedUrl = h.gatewayUrl('seed');
  if ((await git(h, env, ['clone', '-q', seedUrl, work])).code !== 0) throw new Error('clone failed');
  const files = Math.max(1, Math.round(size / 10));
  for (let i = 0; i < files; i++) writeFileSync(join(work, `blob-${i}.bin`), randomBytes(Math.round((size * MB) / files)));
  await sh('git', ['add', '.'], work, env);
  await sh('git', ['commit', '-q', '-m', `${size} MB of random data`], work, env);
  // Direct pushes carry the upstream credential the way a gateway-less CI would (env config, never argv).
  const basic = Buffer.from(`${GIT_USER}:${h.secret}`).toString('base64');
  const directEnv = { ...env, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` };

  const results: { direct: number[]; gateway: number[]; growth: number[] } = { direct: [], gateway: [], growth: [] };
  for (let r = 0; r < rounds; r++) {
    for (const via of r % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const)) {
      const name = `${via}-${r}`;
      await h.git.createRepo(name, { withCommits: 0 });
      const url = via === 'direct' ? h.git.repoUrl(name) : h.gatewayUrl(name);
      // Same starting point for both: the upstream has the seed commit, the push adds the big one.
      const seedPush = await git(h, via === 'direct' ? directEnv : env, ['push', '-q', url, 'HEAD~1:refs/heads/main'], work);
      if (seedPush.code !== 0) throw new Error(`seed push failed: ${seedPush.stderr.slice(-500)}`);
      const {
        result: res,
        ms,
        growthMb,
      } = await measureRss(() => git(h, via === 'direct' ? directEnv : env, ['push', '-q', url, 'HEAD:refs/heads/main'], work));
      if (res.code !== 0) throw new Error(`${via} push failed: ${res.stderr.slice(-800)}`);
      results[via].push(ms);
      if (via === 'gateway') results.growth.push(growthMb);
      console.log(`round ${r + 1} ${via.padEnd(7)} ${ms.toFixed(0).padStart(6)} ms   RSS growth ${growthMb.toFixed(1)} MB`);
    }
  }
  const med = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
  };
  const d = med(results.direct);
  const g = med(results.gateway);
  console.log(
    `\n${size} MB push, median of ${rounds}: direct ${d.toFixed(0)} ms, gateway ${g.toFixed(0)} ms, ratio ${(g / d).toFixed(2)}x (target <= 1.25x); gateway peak RSS growth ${Math.max(...results.growth).toFixed(1)} MB`,
  );
} finally {
  await h.close();
}
