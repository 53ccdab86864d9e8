import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runGit, tempDir } from '@agentgate/testkit';
import { LockTimeoutError, withFileLock } from './lock.js';
import { freshMirror, mirrorDir, mirrorKey } from './mirror.js';

/** `flock -n` exits 0 when it could take the lock at once, 1 when another process holds it. */
function lockedElsewhere(file: string): boolean {
  return spawnSync('flock', ['--nonblock', file, 'true']).status === 1;
}

test('git mirror key - /app, /app.git, /app.git/ and //app name one repository; host case does not matter, path case does', () => {
  const base = new URL('https://GitHub.example:443/org/');
  const key = mirrorKey(base, '/app');
  for (const repo of ['/app.git', '/app.git/', '//app', '/app/']) assert.equal(mirrorKey(base, repo), key, repo);
  assert.equal(mirrorKey(new URL('https://github.example/org'), '/app.git'), key, 'default port and trailing slash of the base');
  assert.equal(key, 'https://github.example/org/app');
  assert.notEqual(mirrorKey(base, '/App'), key, 'paths are case-sensitive on most git servers');
  assert.notEqual(mirrorKey(new URL('http://github.example/org'), '/app'), key, 'another scheme is another upstream');
  assert.equal(mirrorDir('/cache', key), mirrorDir('/cache', mirrorKey(base, '/app.git/')));
});

test('git mirror lock - a kernel lock other processes see, released when the work ends (or fails)', async () => {
  const tmp = tempDir('lock');
  const file = join(tmp.path, 'm.lock');
  try {
    await withFileLock(file, 1000, async () => {
      assert.equal(lockedElsewhere(file), true, 'another process cannot take it');
      // A second holder in this process (another open file description) waits, and gives up at its deadline.
      await assert.rejects(
        withFileLock(file, 300, async () => {}),
        (err: unknown) => err instanceof LockTimeoutError,
      );
    });
    assert.equal(lockedElsewhere(file), false, 'released');
    await assert.rejects(
      withFileLock(file, 1000, async () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(lockedElsewhere(file), false, 'released after a failure too');
  } finally {
    tmp.cleanup();
  }
});

test('git mirror - a fetch that died half way (stale ref locks) does not block the next one', async () => {
  const tmp = tempDir('mirror');
  try {
    const upstream = join(tmp.path, 'up.git');
    const work = join(tmp.path, 'work');
    await runGit(['init', '-q', '--bare', '--initial-branch=main', upstream]);
    mkdirSync(work);
    await runGit(['init', '-q', '--initial-branch=main'], { cwd: work });
    const commit = async (n: number): Promise<void> => {
      writeFileSync(join(work, 'f.txt'), `${n}\n`);
      await runGit(['add', '.'], { cwd: work });
      await runGit(['commit', '-q', '-m', `c${n}`], { cwd: work });
      await runGit(['push', '-q', upstream, 'main'], { cwd: work });
    };
    await commit(1);
    const cacheDir = join(tmp.path, 'cache');
    const opts = { cacheDir, key: 'file://up', upstreamUrl: upstream, lease: undefined, timeoutMs: 30_000 };
    const m = await freshMirror(opts);
    // What a fetch killed at its deadline leaves behind.
    writeFileSync(join(m.gitDir, 'agentgate-fetching'), '1\n');
    writeFileSync(join(m.gitDir, 'refs', 'heads', 'main.lock'), '');
    await commit(2);
    await freshMirror(opts);
    assert.equal(existsSync(join(m.gitDir, 'refs', 'heads', 'main.lock')), false);
    assert.equal(existsSync(join(m.gitDir, 'agentgate-fetching')), false);
    const { stdout } = await runGit(['--git-dir', m.gitDir, 'log', '-1', '--format=%s', 'refs/heads/main']);
    assert.equal(stdout.trim(), 'c2');
  } finally {
    tmp.cleanup();
  }
});
