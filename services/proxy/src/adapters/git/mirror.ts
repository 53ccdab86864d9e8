import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { injectCredential } from '@agentgate/secret-broker';
import type { Lease } from '../../lib/ports.js';
import { runGitCommand } from './git-exec.js';
import { KeyedLock, LockTimeoutError, withFileLock } from './lock.js';

/** A bare mirror of one upstream repository. */
export interface Mirror {
  /** The mirror's git dir. */
  readonly gitDir: string;
  /** A private HOME for the gits run against it (no user config is read). */
  readonly home: string;
}

export class MirrorError extends Error {
  override readonly name = 'MirrorError';
  /** True when the update took longer than its deadline (`mirrorTimeoutMs`). */
  readonly timedOut: boolean;
  constructor(message: string, timedOut = false) {
    super(message);
    this.timedOut = timedOut;
  }
}

const locks = new KeyedLock();
// Present while a fetch runs; found at the next lock, it means the last fetch died half way (its ref locks may remain).
const FETCHING = 'agentgate-fetching';

/**
 * The identity of an upstream repository: `/app`, `/app.git`, `/app.git/`
 * and `//app` name one repository (git servers resolve them alike), and
 * scheme and host are case-insensitive (the URL parser lowers them). The
 * path's case is kept: most git servers are case-sensitive.
 */
export function mirrorKey(upstream: URL, repoPath: string): string {
  const path = `${upstream.pathname}/${repoPath}`
    .replace(/\/{2,}/g, '/')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
  return `${upstream.protocol}//${upstream.host}${path}`;
}

/** Where the mirror of an upstream repository lives: one directory per repository key, named by a hash (no path from the client reaches the file system). */
export function mirrorDir(cacheDir: string, key: string): string {
  const id = createHash('sha256').update(key).digest('hex').slice(0, 32);
  return join(cacheDir, `${id}.git`);
}

/**
 * The environment that hands the brokered credential to git as
 * `http.extraHeader` through GIT_CONFIG_COUNT/KEY/VALUE. Chosen over
 * `-c http.extraHeader=…` (world-readable in /proc/<pid>/cmdline), over a
 * credential-store file (a file on disk) and over GIT_ASKPASS (a script on
 * disk, and Basic only): /proc/<pid>/environ is readable by the gateway's
 * own user only. Redirects are not followed so the header can never be
 * replayed to another host.
 */
export function credentialEnv(lease: Lease | undefined): Record<string, string> {
  const config: Array<[string, string]> = [
    ['http.followRedirects', 'false'],
    ['credential.helper', ''],
    ['gc.auto', '0'],
    ['fetch.fsckObjects', 'false'],
  ];
  if (lease) {
    const headers = injectCredential({} as Record<string, string>, lease);
    for (const [name, value] of Object.entries(headers)) config.push(['http.extraHeader', `${name}: ${value}`]);
  }
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(config.length) };
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

/**
 * Brings the mirror of a repository up to date with `git fetch --prune`
 * from the upstream using the brokered credential. Fetches into one mirror
 * are serialized; readers (quarantines using it as an alternate) need no
 * lock, since objects are never removed from a mirror (no gc, and --prune
 * drops refs only). A decision stays valid until the push lands because
 * the upstream's receive-pack compares each ref with its old value.
 */
export async function freshMirror(opts: {
  cacheDir: string;
  /** The mirror's identity ({@link mirrorKey}). */
  key: string;
  upstreamUrl: string;
  lease: Lease | undefined;
  timeoutMs: number;
}): Promise<Mirror> {
  const gitDir = mirrorDir(opts.cacheDir, opts.key);
  const home = join(gitDir, 'agentgate-home');
  const deadline = Date.now() + opts.timeoutMs;
  const left = (): number => Math.max(1, deadline - Date.now());
  await mkdir(opts.cacheDir, { recursive: true, mode: 0o700 });
  // One fetch at a time per mirror: in this process (KeyedLock), and across processes sharing the cache dir (flock).
  await locks
    .run(gitDir, () =>
      withFileLock(`${gitDir}.lock`, left(), async () => {
        if (!existsSync(join(gitDir, 'HEAD'))) await initMirror(gitDir, left());
        else if (existsSync(join(gitDir, FETCHING))) await removeStaleLocks(gitDir);
        await writeFile(join(gitDir, FETCHING), `${process.pid}\n`);
        const r = await runGitCommand(
          ['--git-dir', gitDir, 'fetch', '--prune', '--quiet', '--no-write-fetch-head', '--', opts.upstreamUrl, '+refs/*:refs/*'],
          home,
          {
            env: credentialEnv(opts.lease),
            timeoutMs: left(),
          },
        );
        if (r.timedOut) throw new MirrorError(`mirror fetch took longer than ${opts.timeoutMs} ms`, true);
        // git's stderr is for the log (git never prints extraHeader values); the client only learns the mirror failed.
        if (r.code !== 0) throw new MirrorError(`mirror fetch failed (exit ${r.code}): ${r.stderr.trim().slice(0, 500)}`);
        await unlink(join(gitDir, FETCHING));
      }),
    )
    .catch((err: unknown) => {
      if (err instanceof LockTimeoutError) throw new MirrorError(`the mirror was locked by another fetch for longer than ${opts.timeoutMs} ms`, true);
      throw err;
    });
  return { gitDir, home };
}

/**
 * A fetch killed half way (its deadline, or a crash) can leave git's own
 * lock files behind (`packed-refs.lock`, `refs/…/x.lock`), and git then
 * refuses every later fetch into the mirror. Only called under the mirror's
 * lock, so no live git holds them.
 */
async function removeStaleLocks(gitDir: string): Promise<void> {
  for (const name of ['packed-refs.lock', 'shallow.lock', 'HEAD.lock', 'config.lock', 'FETCH_HEAD.lock']) await rm(join(gitDir, name), { force: true });
  const entries = await readdir(join(gitDir, 'refs'), { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.isFile() && e.name.endsWith('.lock')) await rm(join(e.parentPath ?? e.path, e.name), { force: true });
  }
}

async function initMirror(gitDir: string, timeoutMs: number): Promise<void> {
  // Built aside and renamed in place, so a crash never leaves a half-made mirror that looks complete.
  const tmp = `${gitDir}.init-${process.pid}-${Date.now()}`;
  await mkdir(join(tmp, 'agentgate-home'), { recursive: true, mode: 0o700 });
  const r = await runGitCommand(['init', '--bare', '--quiet', tmp], join(tmp, 'agentgate-home'), { timeoutMs });
  if (r.code !== 0) {
    await rm(tmp, { recursive: true, force: true });
    throw new MirrorError(`git init of the mirror failed: ${r.stderr.trim().slice(0, 300)}`);
  }
  await mkdir(join(gitDir, '..'), { recursive: true, mode: 0o700 });
  await rename(tmp, gitDir).catch(async (err: unknown) => {
    await rm(tmp, { recursive: true, force: true });
    // Made meanwhile by a process that does not share our lock (an older gateway): use it.
    if (!existsSync(join(gitDir, 'HEAD'))) throw err;
  });
}
