import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { injectCredential } from '@agentgate/secret-broker';
import type { Lease } from '../../lib/ports.js';
import { runGitCommand } from './git-exec.js';
import { KeyedLock } from './lock.js';

/** A bare mirror of one upstream repository. */
export interface Mirror {
  /** The mirror's git dir. */
  readonly gitDir: string;
  /** A private HOME for the gits run against it (no user config is read). */
  readonly home: string;
}

export class MirrorError extends Error {
  override readonly name = 'MirrorError';
}

const locks = new KeyedLock();

/** Where the mirror of `<connection>/<repoPath>` lives: one directory per repository, named by a hash (no path from the client reaches the file system). */
export function mirrorDir(cacheDir: string, connection: string, repoPath: string): string {
  const id = createHash('sha256').update(repoPath).digest('hex').slice(0, 32);
  return join(cacheDir, connection, `${id}.git`);
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
  connection: string;
  repoPath: string;
  upstreamUrl: string;
  lease: Lease | undefined;
  timeoutMs: number;
}): Promise<Mirror> {
  const gitDir = mirrorDir(opts.cacheDir, opts.connection, opts.repoPath);
  const home = join(gitDir, 'agentgate-home');
  await locks.run(gitDir, async () => {
    if (!existsSync(join(gitDir, 'HEAD'))) await initMirror(gitDir, opts.timeoutMs);
    const r = await runGitCommand(['--git-dir', gitDir, 'fetch', '--prune', '--quiet', '--no-write-fetch-head', '--', opts.upstreamUrl, '+refs/*:refs/*'], home, {
      env: credentialEnv(opts.lease),
      timeoutMs: opts.timeoutMs,
    });
    // git's stderr is for the log (git never prints extraHeader values); the client only learns the mirror failed.
    if (r.code !== 0) throw new MirrorError(`mirror fetch failed (exit ${r.code}): ${r.stderr.trim().slice(0, 500)}`);
  });
  return { gitDir, home };
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
  await rename(tmp, gitDir);
}
