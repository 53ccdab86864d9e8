import type { CommitSummary, DiffStat, RefChange } from '../types.js';
import { AUDIT_KIND, type ClassifiedRef } from './classify-refs.js';
import type { Quarantine } from './quarantine.js';
import { isZeroSha } from './receive-pack-head.js';

/** Commits listed per side of a ref update; the approver is told when there are more. */
export const MAX_COMMITS = 50;
/** Files listed in a diffstat; the totals still count every file. */
export const MAX_DIFF_FILES = 100;
const GIT_MS = 20_000;
const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
// Unit and record separators: they never occur in a one-line subject or an author name git accepts.
const FORMAT = '--format=%H%x1f%an <%ae>%x1f%aI%x1f%s%x1e';

/**
 * What each ref update of a held push changes, from the mirror and the
 * quarantined pack: the commits it adds (`old..new`, or for a new ref the
 * commits the upstream does not have), the commits that leave the ref
 * (`new..old`: a force-push's rewritten history, a deletion's commits no
 * other ref keeps), and a diffstat `old → new`. Bounded: at most
 * {@link MAX_COMMITS} commits per side, {@link MAX_DIFF_FILES} files, git's
 * output capped, each git run timed out; what could not be read is shown
 * empty rather than failing the hold.
 */
export async function refChanges(q: Quarantine, refs: readonly ClassifiedRef[]): Promise<RefChange[]> {
  const out: RefChange[] = [];
  for (const r of refs) out.push(await refChange(q, r));
  return out;
}

async function refChange(q: Quarantine, r: ClassifiedRef): Promise<RefChange> {
  const created = isZeroSha(r.old);
  const deleted = isZeroSha(r.new);
  // Only SHAs parsed from the pkt-line head reach git's argument list, and only after this check.
  const ok = (sha: string) => SHA.test(sha);
  const added = deleted || !ok(r.new) ? none() : await commits(q, created ? [r.new, '--not', '--all'] : ok(r.old) ? [r.new, `^${r.old}`] : []);
  const lost =
    created || !ok(r.old) || r.fastForward
      ? none()
      : await commits(q, deleted ? [r.old, '--not', `--exclude=${r.ref}`, '--all'] : ok(r.new) ? [r.old, `^${r.new}`] : []);
  const diffstat = !created && !deleted && ok(r.old) && ok(r.new) ? await diffStat(q, r.old, r.new) : undefined;
  return {
    ref: r.ref,
    old: r.old,
    new: r.new,
    kind: AUDIT_KIND[r.kind],
    added: added.list,
    addedTruncated: added.truncated,
    lost: lost.list,
    lostTruncated: lost.truncated,
    ...(diffstat && { diffstat }),
  };
}

function none(): { list: CommitSummary[]; truncated: boolean } {
  return { list: [], truncated: false };
}

async function commits(q: Quarantine, range: string[]): Promise<{ list: CommitSummary[]; truncated: boolean }> {
  if (range.length === 0 || !q.read) return none();
  const r = await q.read(['log', '--no-color', '--no-show-signature', FORMAT, '-n', String(MAX_COMMITS + 1), ...range, '--'], GIT_MS);
  if (r.code !== 0) return none();
  const list: CommitSummary[] = [];
  for (const rec of r.stdout.split('\x1e')) {
    const [sha, author, date, subject] = rec.replace(/^\n/, '').split('\x1f');
    if (!sha || !SHA.test(sha)) continue;
    list.push({ sha, author: author ?? '', date: date ?? '', subject: subject ?? '' });
  }
  return { list: list.slice(0, MAX_COMMITS), truncated: list.length > MAX_COMMITS };
}

async function diffStat(q: Quarantine, from: string, to: string): Promise<DiffStat | undefined> {
  if (!q.read) return undefined;
  const [num, short] = await Promise.all([
    q.read(['diff', '--no-color', '--no-renames', '--numstat', from, to, '--'], GIT_MS),
    q.read(['diff', '--no-color', '--no-renames', '--shortstat', from, to, '--'], GIT_MS),
  ]);
  if (num.code !== 0 || short.code !== 0) return undefined;
  const lines = num.stdout.split('\n').filter((l) => l.includes('\t'));
  // The numstat output is capped (git-exec): a cut last line is dropped, the totals come from --shortstat.
  if (!num.stdout.endsWith('\n') && lines.length > 0) lines.pop();
  const files = lines.slice(0, MAX_DIFF_FILES).map((l) => {
    const [a, d, ...path] = l.split('\t');
    const n = (v: string | undefined) => (v === undefined || v === '-' ? null : Number.parseInt(v, 10));
    return { path: path.join('\t'), added: n(a), deleted: n(d) };
  });
  const total = (re: RegExp) => Number.parseInt(re.exec(short.stdout)?.[1] ?? '0', 10);
  const filesChanged = total(/(\d+) files? changed/);
  return {
    files,
    filesChanged,
    insertions: total(/(\d+) insertions?/),
    deletions: total(/(\d+) deletions?/),
    truncated: files.length < filesChanged,
  };
}
