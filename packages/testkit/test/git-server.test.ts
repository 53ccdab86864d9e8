import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type GitServer, runGit, startGitServer, tempDir } from '@agentgate/testkit';

const work = tempDir('git-test');
after(() => work.cleanup());

function withCreds(url: string, user: string, pass: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = pass;
  return u.toString();
}

async function cloneCommitPush(server: GitServer, cloneUrl: string, dir: string, gitArgs: string[] = []): Promise<void> {
  const path = join(work.path, dir);
  await runGit([...gitArgs, 'clone', '--quiet', cloneUrl, path]);
  assert.match(readFileSync(join(path, 'README.md'), 'utf8'), /^# \w+\n\ncommit \d+\n$/);
  writeFileSync(join(path, 'change.txt'), `change from ${dir}\n`);
  await runGit(['add', 'change.txt'], { cwd: path });
  await runGit(['commit', '--quiet', '-m', `change from ${dir}`], { cwd: path });
  await runGit([...gitArgs, 'push', '--quiet', 'origin', 'main'], { cwd: path });
  const local = (await runGit(['rev-parse', 'HEAD'], { cwd: path })).stdout.trim();
  const repoName = new URL(cloneUrl).pathname.slice(1);
  const remote = (await runGit(['rev-parse', 'main'], { cwd: join(server.root, repoName) })).stdout.trim();
  assert.equal(remote, local, 'the bare repository received the pushed commit');
}

describe('git server', () => {
  test('git server - clone, commit and push with the real git CLI, no auth', async () => {
    const server = await startGitServer();
    try {
      const repo = await server.createRepo('demo', { withCommits: 2 });
      assert.equal(repo.url, `${server.url}/demo.git`);
      await cloneCommitPush(server, repo.url, 'noauth');
      const count = await runGit(['rev-list', '--count', 'main'], { cwd: repo.path });
      assert.equal(count.stdout.trim(), '3', 'two created commits plus the pushed one');
      const paths = server.requests.map((r) => `${r.method} ${r.path}`);
      assert.ok(paths.includes('GET /demo.git/info/refs?service=git-upload-pack'));
      assert.ok(paths.includes('POST /demo.git/git-upload-pack'));
      assert.ok(paths.includes('GET /demo.git/info/refs?service=git-receive-pack'));
      assert.ok(paths.includes('POST /demo.git/git-receive-pack'));
      assert.ok(server.requests.every((r) => !r.hasAuthorization && r.status === 200));
    } finally {
      await server.stop();
    }
  });

  test('git server - basic auth: refuses the client without it, accepts the credential', async () => {
    const server = await startGitServer({ auth: { username: 'upstream-bot', password: 'pw-upstream-secret' } });
    try {
      const repo = await server.createRepo('guarded');
      await assert.rejects(runGit(['clone', '--quiet', repo.url, join(work.path, 'denied')]), (err: Error) => {
        assert.equal((err as { code?: string }).code, 'ERR_COMMAND_FAILED');
        return true;
      });
      assert.ok(server.requests.length > 0);
      assert.ok(server.requests.every((r) => r.status === 401 && !r.authorized));
      server.requests.length = 0;

      await cloneCommitPush(server, withCreds(repo.url, 'upstream-bot', 'pw-upstream-secret'), 'basic');
      assert.ok(server.requests.some((r) => r.path.endsWith('/git-receive-pack') && r.authorized && r.status === 200));
      // The record holds presence, never the value.
      assert.ok(!JSON.stringify(server.requests).includes('pw-upstream-secret'));

      const wrong = withCreds(repo.url, 'upstream-bot', 'wrong');
      await assert.rejects(runGit(['ls-remote', wrong]), (err: Error) => {
        assert.ok(!err.message.includes('wrong@'), 'credentials are redacted from errors');
        return true;
      });
    } finally {
      await server.stop();
    }
  });

  test('git server - bearer auth via an injected Authorization header', async () => {
    const server = await startGitServer({ auth: { bearer: 'tok-upstream-secret' } });
    try {
      const repo = await server.createRepo('bearer');
      const res = await fetch(`${repo.url}/info/refs?service=git-upload-pack`);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
      await cloneCommitPush(server, repo.url, 'bearer', ['-c', 'http.extraHeader=Authorization: Bearer tok-upstream-secret']);
    } finally {
      await server.stop();
    }
  });

  test('git server - streams a 24 MB push (chunked request body) and fetches it back', async () => {
    const server = await startGitServer();
    try {
      const repo = await server.createRepo('big');
      const path = join(work.path, 'big');
      await runGit(['clone', '--quiet', repo.url, path]);
      writeFileSync(join(path, 'blob.bin'), randomBytes(24 * 1024 * 1024));
      await runGit(['add', 'blob.bin'], { cwd: path });
      await runGit(['commit', '--quiet', '-m', 'big blob'], { cwd: path });
      await runGit(['push', '--quiet', 'origin', 'main'], { cwd: path });
      // git first probes with a 4-byte flush packet, then sends the pack chunked.
      const pushes = server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/git-receive-pack'));
      const push = pushes.sort((a, b) => b.requestBytes - a.requestBytes)[0];
      assert.equal(push?.status, 200);
      assert.equal(push?.chunked, true);
      assert.ok((push?.requestBytes ?? 0) > 24 * 1024 * 1024, `push body was ${push?.requestBytes} bytes`);
      const copy = join(work.path, 'big-copy');
      await runGit(['clone', '--quiet', repo.url, copy]);
      assert.equal(readFileSync(join(copy, 'blob.bin')).length, 24 * 1024 * 1024);
    } finally {
      await server.stop();
    }
  });

  test('git server - createRepo with withCommits: false makes an empty repository', async () => {
    const server = await startGitServer();
    try {
      const repo = await server.createRepo('empty', { withCommits: false });
      const refs = await runGit(['ls-remote', repo.url]);
      assert.equal(refs.stdout.trim(), '');
    } finally {
      await server.stop();
    }
  });
});
