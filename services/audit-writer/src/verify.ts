import type { Bus } from '@agentgate/bus';
import { STREAMS } from '@agentgate/events';
import type { JWK } from 'jose';
import { type HeadSource, readBusHead } from './lib/head-witness.js';
import { checkAgainstCheckpoint, classifyInvalid, compareWithBusHead, newestCheckpoint, readEntries, walkSlots } from './lib/verify-steps.js';
import type { Sink, StoredCheckpoint } from './sinks/types.js';

/** Kinds of tampering the verifier reports. */
export type ProblemKind = 'modified' | 'deleted' | 'reordered' | 'inserted' | 'truncated';

/** One finding. */
export interface VerifyProblem {
  kind: ProblemKind;
  seq?: number;
  id?: string;
  detail: string;
}

/**
 * The overall answer: `ok` (intact and fully covered by a signed checkpoint), `unverified-tail`
 * (intact up to the last signed checkpoint, but events past it are not yet covered — the writer
 * signs one within `audit.checkpoint.idleMs` of the last event: run verify again), `failed`.
 */
export type VerifyVerdict = 'ok' | 'unverified-tail' | 'failed';

/** The verifier's answer. */
export interface VerifyReport {
  /** True only for the verdict `ok`. */
  ok: boolean;
  verdict: VerifyVerdict;
  partition: string;
  /** Documents read from the trail. */
  total: number;
  /** Slots holding a filler (dead-lettered content kept in the DLQ stream, or an event another writer stored first). */
  fillers: number;
  /** Highest chain position covered by a valid signed checkpoint (0 when none). */
  checkpointSeq: number;
  /** Highest chain position in the trail (0 when empty). */
  trailHead: number;
  /** Chain head the bus records as written (the writer's head in KV), when a bus was read. */
  busHead?: number | undefined;
  /** Events in the trail past the last signed checkpoint: intact as far as the chain shows, but not yet signed. */
  unverifiedTail: number;
  /** Positions past the trail's head that the writer is still writing (reserved, not yet confirmed). */
  inFlight: number;
  /** Checkpoints whose signature did not verify. */
  badCheckpoints: number;
  problems: VerifyProblem[];
}

/** Where the signed checkpoints come from: outside the index is what catches truncation. */
export type CheckpointSource = { bus: Bus } | { checkpoints: Array<StoredCheckpoint | string> } | { sink: Sink };

/** Options of verifyTrail. */
export interface VerifyOptions {
  sink: Sink;
  partition?: string;
  publicKey: JWK;
  checkpoints: CheckpointSource;
  /**
   * The second witness of what was written: the writer's chain head on the bus. Defaults to
   * the bus of `checkpoints` when that is a bus; `false` skips it (a cut past the last signed
   * checkpoint then shows only as an unverified tail).
   */
  head?: HeadSource | false;
}

async function loadCheckpoints(src: CheckpointSource, partition: string): Promise<Array<StoredCheckpoint | string>> {
  if ('checkpoints' in src) return src.checkpoints;
  if ('sink' in src) return src.sink.readCheckpoints(partition);
  const out: StoredCheckpoint[] = [];
  const info = await src.bus.streams.info(STREAMS.AUDIT_CHECKPOINTS.name).catch(() => undefined);
  if (!info) return out;
  for (let s = info.firstSeq; s > 0 && s <= info.lastSeq; s++) {
    const m = await src.bus.streams.get(STREAMS.AUDIT_CHECKPOINTS.name, s);
    if (m) out.push(m.json<StoredCheckpoint>());
  }
  return out;
}

/**
 * Walks one chain partition of a trail (index or local store) in seq order and reports
 * every modified document (content no longer matches its hash), deleted slot (a gap),
 * reordered documents (intact content sitting at another position), inserted documents
 * (not part of the chain) and a truncated tail: the newest signed checkpoint, read from
 * outside the index, covers positions the trail no longer holds, or the writer's chain head
 * on the bus records positions past the trail's head as written and confirmed. Events past
 * the last signed checkpoint make the verdict `unverified-tail`, never `ok`.
 *
 * Stages (lib/verify-steps.ts): read the witnesses and the trail → pick the newest valid
 * checkpoint → classify invalid documents → walk the slots → compare the head with the
 * checkpoint and the bus → the verdict.
 */
export async function verifyTrail(opts: VerifyOptions): Promise<VerifyReport> {
  const partition = opts.partition ?? 'writer-0';
  const headSrc = opts.head ?? ('bus' in opts.checkpoints ? { bus: opts.checkpoints.bus } : false);
  // Witnesses are read before the trail: a checkpoint or a confirmed head read first names only
  // what every sink already held, so a running writer cannot make a complete trail look cut.
  // The head is read again after the trail: nothing read may lie past what the writer ever assigned.
  const rawCheckpoints = await loadCheckpoints(opts.checkpoints, partition);
  const before = headSrc ? await readBusHead(headSrc, partition) : undefined;
  const entries = await readEntries(opts.sink, partition);
  const after = headSrc ? await readBusHead(headSrc, partition) : undefined;

  const { best, badCheckpoints } = await newestCheckpoint(rawCheckpoints, opts.publicKey, partition);
  const problems: VerifyProblem[] = classifyInvalid(entries);
  const slots = walkSlots(entries, problems);
  const cutBy = checkAgainstCheckpoint(best, slots, problems);
  const witness = compareWithBusHead(before, after, slots.maxSeq, slots.bySeq, problems);
  cutBy.push(...witness.cutBy);
  if (cutBy.length > 0) {
    const covered = Math.max(best?.seq ?? 0, witness.confirmedHead);
    problems.push({
      kind: 'truncated',
      seq: slots.maxSeq + 1,
      detail: `trail ends at ${slots.maxSeq}; ${cutBy.join(' and ')} (${covered - slots.maxSeq} missing)`,
    });
  }
  if (badCheckpoints > 0 && !best) problems.push({ kind: 'modified', detail: `${badCheckpoints} checkpoint(s) fail signature verification` });
  problems.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const checkpointSeq = best?.seq ?? 0;
  const unverifiedTail = Math.max(0, slots.maxSeq - checkpointSeq);
  const verdict: VerifyVerdict = problems.length > 0 ? 'failed' : unverifiedTail > 0 || witness.inFlight > 0 ? 'unverified-tail' : 'ok';
  return {
    ok: verdict === 'ok',
    verdict,
    partition,
    total: entries.length,
    fillers: entries.filter((e) => e.filler).length,
    checkpointSeq,
    trailHead: slots.maxSeq,
    busHead: before?.seq,
    unverifiedTail,
    inFlight: witness.inFlight,
    badCheckpoints,
    problems,
  };
}

/** Human-readable report for `agentgate verify` (one line per problem, a verdict line last). */
export function formatVerifyReport(r: VerifyReport): string {
  const bus = r.busHead !== undefined ? `, chain head on the bus at ${r.busHead}` : '';
  const lines = [`partition ${r.partition}: ${r.total} documents, signed checkpoint at ${r.checkpointSeq}${bus}${r.fillers ? `, ${r.fillers} filler(s)` : ''}`];
  for (const p of r.problems) lines.push(`  ${p.kind.toUpperCase()}${p.seq !== undefined ? ` seq=${p.seq}` : ''}${p.id ? ` id=${p.id}` : ''}: ${p.detail}`);
  if (r.checkpointSeq === 0 && r.total > 0) lines.push('  warning: no valid signed checkpoint found; nothing in this trail is covered by a signature');
  if (r.busHead === undefined)
    lines.push('  warning: no chain head on the bus for this partition; a tail cut past the last checkpoint shows only as unverified');
  if (r.verdict === 'ok') lines.push('OK: the audit trail is intact');
  else if (r.verdict === 'unverified-tail') {
    const n = r.unverifiedTail + r.inFlight;
    const flight = r.inFlight > 0 ? ` (${r.inFlight} of them still being written)` : '';
    lines.push(
      `UNVERIFIED TAIL ${n} events: intact up to the signed checkpoint at ${r.checkpointSeq}; positions ${r.checkpointSeq + 1}..${r.checkpointSeq + n} are past it${flight}. The writer signs one within audit.checkpoint.idleMs of the last event: run verify again`,
    );
  } else lines.push(`FAILED: ${r.problems.length} problem(s) found`);
  return `${lines.join('\n')}\n`;
}
