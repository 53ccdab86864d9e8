import type { ApprovalRecord } from './record.js';

const short = (sha: string): string => sha.slice(0, 7);

/**
 * One line per part of what a held action would do, for notifications and
 * lists: a push's ref updates with commit counts and diffstat, else the
 * request line and body size. Built from the (masked) record only.
 */
export function changeSummary(rec: ApprovalRecord): string[] {
  const refs = rec.details?.git?.refs;
  if (refs && refs.length > 0) {
    return refs.map((r) => {
      const counts = [`${r.added.length}${r.addedTruncated ? '+' : ''} commit(s) added`];
      if (r.lost.length > 0) counts.push(`${r.lost.length}${r.lostTruncated ? '+' : ''} commit(s) dropped`);
      const d = r.diffstat;
      const stat = d ? `; ${d.filesChanged} file(s) changed, +${d.insertions} -${d.deletions}` : '';
      return `${r.kind} ${r.ref} ${short(r.old)} → ${short(r.new)}: ${counts.join(', ')}${stat}`;
    });
  }
  const req = rec.binding.request;
  const body = rec.binding.body ? ` (body ${rec.binding.body.bytes} bytes, sha256 ${rec.binding.body.sha256.slice(0, 12)}…)` : '';
  if (req) return [`${req.method} /${rec.connection}${req.path}${req.query}${body}`];
  return [`${rec.binding.kind} on ${rec.connection}${body}`];
}
