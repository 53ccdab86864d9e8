import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clientHome, type GitHarness, git, gitEvents, startGitHarness, upstreamRefs } from './git-harness.js';
import { measureRss } from './rss.js';

const MB = 1024 * 1024;

describe('git adapter: a 100 MB push is spooled, not buffered', () => {
  let h: GitHarness;
  before(async () => {
    h = await startGitHarness({ maxBodyBytes: 512 * MB });
  });
  after(async () => {
    await h?.close();
  });

  test('git memory - a 100 MB push of incompressible files passes with the gateway memory flat', async () => {
    await h.git.createRepo('big', { withCommits: 1 });
    const { env } = clientHome(h, 'big', h.token);
    // The trace of a 100 MB body would itself be 100s of MB: headers only (still scanned for the credential).
    env.GIT_TRACE_CURL_NO_DATA = '1';
    const dir = join(h.dir, 'big');
    assert.equal((await git(h, env, ['clone', '-q', h.gatewayUrl('big'), dir])).code, 0);
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, `blob-${i}.bin`), randomBytes(10 * MB));
    assert.equal((await git(h, env, ['add', '.'], dir)).code, 0);
    assert.equal((await git(h, env, ['commit', '-q', '-m', '100 MB of random data'], dir)).code, 0);
    const tip = (await git(h, env, ['rev-parse', 'HEAD'], dir)).stdout.trim();

    const { result: r, ms, baseline, growthMb: growth } = await measureRss(() => git(h, env, ['push', 'origin', 'main'], dir));
    assert.equal(r.code, 0, r.stderr.slice(-1500));
    assert.equal((await upstreamRefs(h, 'big')).get('refs/heads/main'), tip);
    const ev = (await gitEvents(h, (e) => e.url?.path === '/gh/big.git/git-receive-pack')).find((e) => e.agentgate.action.phase === 'requested');
    const bytes = ev?.agentgate.git?.bytes ?? 0;
    console.log(
      `# 100 MB push through the gateway in ${ms.toFixed(0)} ms; body ${(bytes / MB).toFixed(1)} MB; RSS baseline ${(baseline / MB).toFixed(0)} MB, peak growth ${growth.toFixed(1)} MB`,
    );
    assert.ok(bytes > 100 * MB, 'the recorded push body is the whole pack');
    // Gateway and upstream server share this process: holding the body anywhere would add >= 100 MB.
    assert.ok(growth < 60, `RSS grew by ${growth.toFixed(1)} MB`);
  });
});
