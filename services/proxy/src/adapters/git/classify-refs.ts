import type { GitRefKind } from '@agentgate/events';
import type { Quarantine } from './quarantine.js';
import { isZeroSha, type RefCommand } from './receive-pack-head.js';

/** Action kinds of ref updates, as policy sees them. */
export type RefActionKind = 'git.create_ref' | 'git.push' | 'git.force_push' | 'git.delete_ref' | 'git.tag_create' | 'git.tag_move' | 'git.tag_delete';

/** One classified ref update. */
export interface ClassifiedRef extends RefCommand {
  readonly kind: RefActionKind;
  readonly refType: 'branch' | 'tag' | 'other';
  /** True only for an update whose old commit is an ancestor of the new one. */
  readonly fastForward: boolean;
  readonly protected: boolean;
}

/** The audit vocabulary (events schema) of each action kind. */
export const AUDIT_KIND: Record<RefActionKind, GitRefKind> = {
  'git.create_ref': 'create',
  'git.push': 'fast-forward',
  'git.force_push': 'force-push',
  'git.delete_ref': 'delete',
  'git.tag_create': 'tag-create',
  'git.tag_move': 'tag-update',
  'git.tag_delete': 'tag-delete',
};

/** Words for a refusal line (`! [remote rejected] main (force-push denied …)`). */
export const KIND_LABEL: Record<RefActionKind, string> = {
  'git.create_ref': 'ref creation',
  'git.push': 'push',
  'git.force_push': 'force-push',
  'git.delete_ref': 'ref deletion',
  'git.tag_create': 'tag creation',
  'git.tag_move': 'tag move',
  'git.tag_delete': 'tag deletion',
};

// Most destructive first: the kind of a whole push is that of its most destructive update.
const SEVERITY: RefActionKind[] = ['git.force_push', 'git.delete_ref', 'git.tag_move', 'git.tag_delete', 'git.create_ref', 'git.tag_create', 'git.push'];

/** The most destructive kind among the updates. */
export function overallKind(refs: readonly ClassifiedRef[]): RefActionKind {
  return SEVERITY.find((k) => refs.some((r) => r.kind === k)) ?? 'git.push';
}

/**
 * Classifies one ref update. Fast-forward versus force is decided by
 * ancestry in the real history (mirror + quarantined pack), never by
 * anything the client says (the client's `+` is not even on the wire).
 */
export async function classifyRef(cmd: RefCommand, q: Quarantine, isProtected: (ref: string) => boolean): Promise<ClassifiedRef> {
  const refType = cmd.ref.startsWith('refs/heads/') ? 'branch' : cmd.ref.startsWith('refs/tags/') ? 'tag' : 'other';
  const created = isZeroSha(cmd.old);
  const deleted = isZeroSha(cmd.new);
  let kind: RefActionKind;
  let fastForward = false;
  if (refType === 'tag') {
    // Any change of an existing tag is a move, whatever the ancestry: tags are meant to be immutable.
    kind = created ? 'git.tag_create' : deleted ? 'git.tag_delete' : 'git.tag_move';
  } else if (created) {
    kind = 'git.create_ref';
  } else if (deleted) {
    kind = 'git.delete_ref';
  } else {
    fastForward = cmd.old === cmd.new || (await q.isAncestor(cmd.old, cmd.new));
    kind = fastForward ? 'git.push' : 'git.force_push';
  }
  return { ...cmd, kind, refType, fastForward, protected: isProtected(cmd.ref) };
}
