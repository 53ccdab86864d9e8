import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type GitResult, runGitCommand } from './git-exec.js';
import type { Mirror } from './mirror.js';

export class QuarantineError extends Error {
  override readonly name = 'QuarantineError';
}

/** The pushed objects, indexed beside (never into) the mirror. */
export interface Quarantine {
  /** Is `old` an ancestor of `new` (real history: the mirror's plus the pushed pack)? */
  isAncestor(old: string, neu: string): Promise<boolean>;
  /** Commits reachable from `tips` that the upstream does not have yet. */
  countNewCommits(tips: readonly string[]): Promise<number>;
  /** Runs a read-only git command over the mirror plus the quarantined objects (output capped, see git-exec). */
  read?(args: string[], timeoutMs: number): Promise<GitResult>;
}

/**
 * Indexes the pack of a push (`git index-pack --stdin --fix-thin`, streamed
 * from the spool as it is written) into a temp object directory that has
 * the mirror as an alternate: the mirror never receives an object a policy
 * may still refuse, and thin-pack bases resolve against the upstream's
 * history. `pack` undefined: the push carries no pack (deletes only).
 */
export async function quarantinePack(mirror: Mirror, dir: string, pack: Readable | undefined, timeoutMs: number): Promise<Quarantine> {
  const objects = join(dir, 'objects');
  await mkdir(join(objects, 'pack'), { recursive: true, mode: 0o700 });
  const env = { GIT_OBJECT_DIRECTORY: objects, GIT_ALTERNATE_OBJECT_DIRECTORIES: join(mirror.gitDir, 'objects') };
  if (pack) {
    const r = await runGitCommand(['--git-dir', mirror.gitDir, 'index-pack', '--stdin', '--fix-thin'], mirror.home, { env, stdin: pack, timeoutMs });
    if (r.code !== 0) throw new QuarantineError(`index-pack failed (exit ${r.code}): ${r.stderr.trim().slice(0, 500)}`);
  }
  const git = (args: string[], ms = timeoutMs) => runGitCommand(['--git-dir', mirror.gitDir, ...args], mirror.home, { env, timeoutMs: ms });
  return {
    read: (args, ms) => git(args, ms),
    async isAncestor(old, neu) {
      const r = await git(['merge-base', '--is-ancestor', old, neu]);
      if (r.code === 0) return true;
      if (r.code === 1) return false;
      // Missing objects or a non-commit: not provably a fast-forward, so it is treated as a force-push (fail closed).
      return false;
    },
    async countNewCommits(tips) {
      if (tips.length === 0) return 0;
      const r = await git(['rev-list', '--count', ...tips, '--not', '--all']);
      const n = Number.parseInt(r.stdout.trim(), 10);
      return r.code === 0 && Number.isFinite(n) ? n : 0;
    },
  };
}
