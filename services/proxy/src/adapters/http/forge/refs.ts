import type { Lease } from '../../../lib/ports.js';
import { upstreamPath } from '../../../lib/request-target.js';
import { ProxyError } from '../../../errors.js';
import { runGitCommand } from '../../git/git-exec.js';
import { freshMirror, MirrorError, mirrorKey } from '../../git/mirror.js';
import { cacheDirOf, protectedMatcher } from '../../git/receive-pack.js';
import type { Connection } from '../../types.js';
import type { Draft, RefDraft } from './types.js';

type GitConnection = Extract<Connection, { type: 'git' }>;

/** The git connection of the forge, as the forge classifier may use it. */
export interface ForgeGit {
  readonly connection: GitConnection;
  lease(): Promise<Lease | undefined>;
  readonly dataDir: string | undefined;
}

/** A ref draft decided: its action, whether the forwarded body drops `force`, or why it could not be decided. */
export interface ResolvedRef {
  readonly draft: Draft;
  /** The update is a proven fast-forward: forward it with `force: false`. */
  readonly unforce: boolean;
  /** The mirror could not be read: the call is refused and recorded as failed (as a push would be). */
  readonly failure?: ProxyError;
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * Decides a ref update or deletion made through the forge's API by the
 * rules of a git push: a tag changed or deleted is a tag move or deletion
 * whatever the ancestry; a branch deleted is a ref deletion; a forced update
 * is a fast-forward only when the mirror of the forge's git connection shows
 * the ref's current commit is an ancestor of the new one, else (and whenever
 * that cannot be shown: no git connection, ref or repository unknown, commit
 * not in the mirror) a forced update. An update without `force` is one the
 * forge itself refuses unless it fast-forwards.
 */
export async function resolveRef(d: RefDraft, git: ForgeGit | undefined): Promise<ResolvedRef> {
  const { name, op, newSha, force, owner, repo } = d.ref;
  const refType = name === null ? 'other' : name.startsWith('refs/heads/') ? 'branch' : name.startsWith('refs/tags/') ? 'tag' : 'other';
  const isProtected = name !== null && git !== undefined && protectedMatcher(git.connection)(name);
  const attrs = { ...d.attrs, ref: name, refType, old: null as string | null, new: newSha, force, fastForward: false, protected: isProtected };
  const done = (kind: Draft['kind'], extra: Partial<typeof attrs> = {}, unforce = false): ResolvedRef => ({
    draft: { kind, attrs: { ...attrs, ...extra } },
    unforce,
  });
  if (op === 'delete') return done(refType === 'tag' ? 'forge.tag_delete' : 'forge.ref_delete', { new: null });
  if (refType === 'tag') return done('forge.tag_move');
  // The forge refuses a non-fast-forward update itself when force is not asked.
  if (!force) return done('forge.ref_update', { fastForward: true });
  if (!git || owner === null || repo === null || name === null || newSha === null || !SHA.test(newSha)) return done('forge.ref_force_update');
  const base = new URL(git.connection.upstream);
  const repoPath = `/${owner}/${repo}.git`;
  let gitDir: string;
  let home: string;
  try {
    const lease = await git.lease();
    ({ gitDir, home } = await freshMirror({
      cacheDir: cacheDirOf(git.connection, git.dataDir),
      key: mirrorKey(base, repoPath),
      upstreamUrl: `${base.origin}${upstreamPath(base, `/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}.git`, '')}`,
      lease,
      timeoutMs: git.connection.options.mirrorTimeoutMs,
    }));
  } catch (err) {
    if (err instanceof ProxyError) return { ...done('forge.ref_force_update'), failure: err };
    const what = `connection "${git.connection.name}": the gateway could not read the repository's history to decide the ref update`;
    const code = err instanceof MirrorError && err.timedOut ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_UNREACHABLE';
    return { ...done('forge.ref_force_update'), failure: new ProxyError(code, what, { cause: err }) };
  }
  const timeoutMs = git.connection.options.mirrorTimeoutMs;
  const rev = await runGitCommand(['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', `${name}^{commit}`], home, { timeoutMs });
  const old = rev.code === 0 ? rev.stdout.trim() : null;
  if (old === null) return done('forge.ref_force_update');
  // Exit 0: ancestor; 1: not; anything else (the new commit is not in the mirror): not provable, so forced (fail closed).
  const anc = old === newSha ? { code: 0 } : await runGitCommand(['--git-dir', gitDir, 'merge-base', '--is-ancestor', old, newSha], home, { timeoutMs });
  if (anc.code === 0) return done('forge.ref_update', { old, fastForward: true }, true);
  return done('forge.ref_force_update', { old });
}
