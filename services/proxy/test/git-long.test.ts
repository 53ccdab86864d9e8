import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AuditEvent, validateEvent } from '@agentgate/events';
import { requireBinary } from '@agentgate/testkit';
import { clientHome, type GitHarness, git, gitEvents, startGitHarness, upstreamRefs } from './git-harness.js';

// Test-sized timeouts: the client may be idle 2 s, the upstream pauses 5 s, progress every 0.5 s.
const IDLE_MS = 2000;
const PAUSE_MS = 5000;
const UPLOAD_PACK = /^\/[^?]*\/(?:info\/refs\?service=git-upload-pack|git-upload-pack)$/;

describe('git long operations: a slow upstream, a slow mirror, a client that leaves', () => {
  let h: GitHarness;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    h = await startGitHarness({
      delay: true,
      limits: `idleTimeoutMs: ${IDLE_MS}`,
      gitOptions: 'progressIntervalMs: 500',
      connections: [
        '  - { name: gh-short, type: git, upstream: UPSTREAM, credential: { ref: git-token, inject: basic, username: x-access-token }, options: { mirrorTimeoutMs: 1000 } }',
        '  - { name: gh-slow, type: git, upstream: UPSTREAM, credential: { ref: git-token, inject: basic, username: x-access-token }, limits: { timeoutMs: 3000 }, options: { progressIntervalMs: 500 } }',
        '',
      ].join('\n'),
    });
    env = clientHome(h, 'long', h.token).env;
  });
  after(async () => {
    await h?.close();
  });

  const delay = () => {
    assert.ok(h.delay, 'the harness runs a delaying proxy');
    return h.delay;
  };
  async function ok(r: Promise<{ code: number; stdout: string; stderr: string }>, what: string): Promise<{ stdout: string; stderr: string }> {
    const res = await r;
    assert.equal(res.code, 0, `${what} failed: ${readable(res.stderr).slice(-2000)}`);
    return res;
  }
  async function cloneAndCommit(repo: string, name: string): Promise<{ dir: string; old: string; tip: string }> {
    await h.git.createRepo(repo, { withCommits: 2 });
    const dir = join(h.dir, name);
    await ok(git(h, env, ['clone', '-q', h.gatewayUrl(repo), dir]), 'clone');
    const old = (await ok(git(h, env, ['rev-parse', 'HEAD'], dir), 'rev-parse')).stdout.trim();
    writeFileSync(join(dir, `${name}.txt`), `${name}\n`);
    await ok(git(h, env, ['add', '.'], dir), 'add');
    await ok(git(h, env, ['commit', '-q', '-m', name], dir), 'commit');
    const tip = (await ok(git(h, env, ['rev-parse', 'HEAD'], dir), 'rev-parse')).stdout.trim();
    return { dir, old, tip };
  }
  const pushEvents = (repo: string, phase?: string, conn = 'gh'): Promise<AuditEvent[]> =>
    gitEvents(h, (e) => e.url?.path === `/${conn}/${repo}.git/git-receive-pack`, phase);

  test('git long - a clone through an upstream silent for longer than the client idle timeout completes', async () => {
    await h.git.createRepo('slowclone', { withCommits: 3 });
    delay().setRules([{ method: 'POST', path: /\/slowclone\.git\/git-upload-pack$/, when: 'before-response', ms: PAUSE_MS, times: 1 }]);
    const started = Date.now();
    const r = await git(h, env, ['clone', '-q', h.gatewayUrl('slowclone'), join(h.dir, 'slowclone')]);
    delay().setRules([]);
    assert.equal(r.code, 0, `clone failed: ${readable(r.stderr).slice(-1500)}`);
    const seen = delay().requests.filter((q) => q.path.startsWith('/slowclone.git/'));
    // On a cut, curl retries once on a new connection: the clone then passes, but only after the gateway hung up mid-answer.
    assert.deepEqual(
      seen.filter((q) => q.clientGone),
      [],
      'the gateway never hung up on the upstream',
    );
    assert.ok(seen.some((q) => q.delayedMs === PAUSE_MS) && Date.now() - started >= PAUSE_MS, 'the upstream really paused');
    const fetches = (await gitEvents(h, (e) => e.url?.path === '/gh/slowclone.git/git-upload-pack', 'completed')).filter(
      (e) => e.agentgate.action.phase === 'completed',
    );
    assert.ok(fetches.length > 0, 'the fetch is recorded completed');
    assert.ok(fetches.every((e) => e.event.outcome === 'success'));
  });

  test('git long - a push whose mirror update is slow completes, git prints the progress lines, the trail says completed', async () => {
    const { dir, tip } = await cloneAndCommit('slowmirror', 'slowmirror-1');
    // Only the gateway's mirror fetch speaks upload-pack during a push.
    delay().setRules([{ path: UPLOAD_PACK, when: 'before-response', ms: PAUSE_MS, times: 1 }]);
    const r = await ok(git(h, { ...env, GIT_TRACE_PACKET: '1' }, ['push', '--progress', 'origin', 'main'], dir), 'push');
    delay().setRules([]);
    assert.ok(
      delay().requests.some((q) => UPLOAD_PACK.test(q.path) && q.delayedMs === PAUSE_MS),
      'the mirror fetch was delayed',
    );
    const progress = r.stderr.split('\n').filter((l) => /^remote: agentgate: /.test(l.trim()));
    assert.ok(progress.length >= 2, `progress lines every 0.5 s while the mirror updates: ${readable(r.stderr).slice(-1500)}`);
    assert.match(progress.join('\n'), /updating the gateway's mirror/);
    // The progress travels in side-band 2 (GIT_TRACE_PACKET shows the packets git read).
    assert.match(r.stderr, /packet: +sideband< \\2agentgate: /);
    assert.equal((await upstreamRefs(h, 'slowmirror')).get('refs/heads/main'), tip);
    const events = await pushEvents('slowmirror', 'completed');
    const phases = events.map((e) => e.agentgate.action.phase);
    assert.deepEqual(phases.sort(), ['completed', 'requested']);
    const done = events.find((e) => e.agentgate.action.phase === 'completed');
    assert.ok(done);
    validateEvent(done);
    assert.equal(done.event.outcome, 'success');
    assert.equal(done.labels?.git_refs_updated, 1);

    // A quiet push (CI: stderr is no terminal) is kept alive too, with empty progress frames.
    writeFileSync(join(dir, 'quiet.txt'), 'quiet\n');
    await ok(git(h, env, ['add', '.'], dir), 'add');
    await ok(git(h, env, ['commit', '-q', '-m', 'quiet'], dir), 'commit');
    delay().setRules([{ path: UPLOAD_PACK, when: 'before-response', ms: PAUSE_MS, times: 1 }]);
    const quiet = await ok(git(h, env, ['push', '-q', 'origin', 'main'], dir), 'quiet push');
    delay().setRules([]);
    assert.doesNotMatch(quiet.stderr, /remote: agentgate: updating/, 'no progress text for a quiet client');
  });

  test('git long - a client that leaves while the gateway updates the mirror: nothing is forwarded, the trail records the failure', async () => {
    const { dir, old } = await cloneAndCommit('leaver', 'leaver-1');
    delay().setRules([{ path: UPLOAD_PACK, when: 'before-response', ms: PAUSE_MS, times: 1 }]);
    const from = delay().requests.length;
    const child = spawnGit(env, ['push', 'origin', 'main'], dir);
    await until(
      () =>
        delay()
          .requests.slice(from)
          .some((q) => UPLOAD_PACK.test(q.path) && q.delayedMs > 0),
      'the mirror fetch is under way',
    );
    await sleep(300);
    child.kill();
    // The mirror update ends (5 s), then the gateway would have forwarded; give it time to (not) do so.
    await sleep(PAUSE_MS + 1500);
    delay().setRules([]);
    assert.equal(
      delay()
        .requests.slice(from)
        .filter((q) => q.method === 'POST' && q.path.endsWith('/git-receive-pack')).length,
      0,
      'nothing was forwarded',
    );
    assert.equal((await upstreamRefs(h, 'leaver')).get('refs/heads/main'), old);
    const events = await pushEvents('leaver', 'failed');
    const failed = events.find((e) => e.agentgate.action.phase === 'failed');
    assert.ok(failed, `a failed event: ${events.map((e) => e.agentgate.action.phase).join(',')}`);
    validateEvent(failed);
    assert.match(failed.event.reason ?? '', /client disconnected/);
    assert.ok(!events.some((e) => e.agentgate.action.phase === 'requested' || e.agentgate.action.phase === 'completed'));
  });

  test('git long - a push that lands while its client is gone is recorded completed with what the upstream reported', async () => {
    const { dir, tip } = await cloneAndCommit('lander', 'lander-1');
    // The upstream runs the push at once; its answer is held back, and the client leaves meanwhile.
    delay().setRules([{ method: 'POST', path: /\/lander\.git\/git-receive-pack$/, when: 'before-response', ms: PAUSE_MS, times: 1 }]);
    const child = spawnGit(env, ['push', 'origin', 'main'], dir);
    await until(async () => (await upstreamRefs(h, 'lander')).get('refs/heads/main') === tip, 'the push landed upstream');
    child.kill();
    const events = await pushEvents('lander', 'completed');
    delay().setRules([]);
    const done = events.find((e) => e.agentgate.action.phase === 'completed');
    assert.ok(done, `a completed event: ${events.map((e) => `${e.agentgate.action.phase} ${e.event.reason ?? ''}`).join(', ')}`);
    validateEvent(done);
    assert.equal(done.event.outcome, 'success');
    assert.equal(done.labels?.client_gone, true);
    assert.equal(done.labels?.git_refs_updated, 1);
    assert.equal(done.labels?.git_unpack, 'ok');
    assert.ok(!events.some((e) => e.agentgate.action.phase === 'failed'));
  });

  test("git long - a mirror update past mirrorTimeoutMs refuses the push in git's words and leaves a failed event", async () => {
    const { dir, old } = await cloneAndCommit('mirrorslow', 'mirrorslow-1');
    await ok(git(h, env, ['remote', 'set-url', 'origin', `${h.proxy.url}/gh-short/mirrorslow.git`], dir), 'remote');
    delay().setRules([{ path: UPLOAD_PACK, when: 'before-response', ms: PAUSE_MS, times: 1 }]);
    const r = await git(h, env, ['push', 'origin', 'main'], dir);
    delay().setRules([]);
    assert.notEqual(r.code, 0);
    assert.match(readable(r.stderr), /could not read the upstream repository's history/);
    assert.equal((await upstreamRefs(h, 'mirrorslow')).get('refs/heads/main'), old);
    const events = await pushEvents('mirrorslow', 'failed', 'gh-short');
    const failed = events.find((e) => e.agentgate.action.phase === 'failed');
    assert.ok(failed, 'the refusal is on the record');
    validateEvent(failed);
    assert.match(failed.event.reason ?? '', /mirror/);
    assert.equal(failed.agentgate.git?.refs[0]?.ref, 'refs/heads/main');
    assert.ok(!events.some((e) => e.agentgate.action.phase === 'requested'));
  });

  test('git long - an upstream silent past its idle timeout, after the gateway kept the push alive: git says why per ref, nothing lands, the trail says failed', async () => {
    const { dir, old } = await cloneAndCommit('deadup', 'deadup-1');
    await ok(git(h, env, ['remote', 'set-url', 'origin', `${h.proxy.url}/gh-slow/deadup.git`], dir), 'remote');
    // Held before it reaches the git server: when the gateway gives up, the push never arrives.
    delay().setRules([{ method: 'POST', path: /\/deadup\.git\/git-receive-pack$/, when: 'before-request', ms: PAUSE_MS, times: 1 }]);
    const r = await git(h, env, ['push', '--progress', 'origin', 'main'], dir);
    await sleep(PAUSE_MS);
    delay().setRules([]);
    assert.notEqual(r.code, 0);
    const out = readable(r.stderr);
    assert.match(out, /remote: agentgate: forwarding the push/);
    assert.match(out, /! \[remote rejected\] main -> main \(connection "gh-slow": the upstream did not answer in time\)/);
    assert.equal((await upstreamRefs(h, 'deadup')).get('refs/heads/main'), old);
    const failed = (await pushEvents('deadup', 'failed', 'gh-slow')).find((e) => e.agentgate.action.phase === 'failed');
    assert.ok(failed);
    assert.match(failed.event.reason ?? '', /did not answer in time/);
  });

  test('git long - /repo, /repo.git and /repo.git/ share one mirror of the upstream repository', async () => {
    await h.git.createRepo('onemirror', { withCommits: 1 });
    const dir = join(h.dir, 'onemirror-1');
    await ok(git(h, env, ['clone', '-q', h.gatewayUrl('onemirror'), dir]), 'clone');
    const mirrorsBefore = mirrorDirs(join(h.dir, 'mirrors'));
    for (const [i, url] of [`${h.proxy.url}/gh/onemirror`, `${h.proxy.url}/gh/onemirror.git`, `${h.proxy.url}/gh/onemirror.git/`].entries()) {
      writeFileSync(join(dir, `f${i}.txt`), `${i}\n`);
      await ok(git(h, env, ['add', '.'], dir), 'add');
      await ok(git(h, env, ['commit', '-q', '-m', `f${i}`], dir), 'commit');
      await ok(git(h, env, ['push', '-q', url, 'main'], dir), `push to ${url}`);
    }
    const added = mirrorDirs(join(h.dir, 'mirrors')).filter((d) => !mirrorsBefore.includes(d));
    assert.equal(added.length, 1, `one mirror, not ${added.join(', ')}`);
  });
});

/** Bare mirror directories (`*.git`) anywhere under the cache dir. */
function mirrorDirs(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (e.name.endsWith('.git')) out.push(join(d, e.name));
      else walk(join(d, e.name));
    }
  };
  walk(root);
  return out;
}

/** A git run that the test can kill half way, with all its helpers (remote-curl): its own process group. */
function spawnGit(env: NodeJS.ProcessEnv, args: string[], cwd: string): { kill(): void } {
  const child = spawn(requireBinary('git', 'apt-get install -y git'), args, { cwd, env, detached: true, stdio: 'ignore' });
  return {
    kill() {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    },
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting until ${what}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** stderr without the curl trace lines. */
function readable(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !/^(=>|<=|==)/.test(l) && !/^\d\d:\d\d:\d\d\.\d+ (http|trace)/.test(l))
    .join('\n');
}
