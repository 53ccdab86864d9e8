import type { Bus } from '@agentgate/bus';
import { type AuditEvent, type ChainView, GENESIS_HASH, STREAMS, chainOf, hashEvent, verifyEventHash } from '@agentgate/events';
import type { JWK } from 'jose';
import { type CheckpointClaims, verifyCheckpoint } from './checkpoint.js';
import { isFiller } from './lib/filler.js';
import { type BusHead, type HeadSource, readBusHead } from './lib/head-witness.js';
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
  /** Slots holding a filler (dead-lettered content, kept in the DLQ stream). */
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

interface Entry {
  id: string;
  doc: AuditEvent;
  /** The chain fields (either schema version: see chainOf), undefined when the document has none. */
  chain: ChainView | undefined;
  seq: number;
  valid: boolean;
  filler: boolean;
}

function selfValid(id: string, doc: AuditEvent, c: ChainView | undefined): boolean {
  if (!c || id !== doc.event?.id) return false;
  try {
    return verifyEventHash(doc, c.prevHash);
  } catch {
    return false;
  }
}

/**
 * True when `doc` hashes correctly once its chain position is `chain.seq`
 * (its content intact, its position moved). The position is written where
 * the document's schema version keeps it: `event.sequence` (version 2) or
 * `agentgate.chain.seq` (version 1).
 */
function validAt(doc: AuditEvent, chain: { seq: number; prevHash: string; hash: string }): boolean {
  const legacy = (doc.agentgate.chain as Record<string, unknown> | undefined)?.['seq'] !== undefined;
  const moved = legacy
    ? { ...doc, agentgate: { ...doc.agentgate, chain: { ...doc.agentgate.chain!, seq: chain.seq, prev_hash: chain.prevHash } } }
    : { ...doc, event: { ...doc.event, sequence: chain.seq }, agentgate: { ...doc.agentgate, chain: { ...doc.agentgate.chain!, prev_hash: chain.prevHash } } };
  try {
    return hashEvent(moved as AuditEvent, chain.prevHash) === chain.hash;
  } catch {
    return false;
  }
}

/**
 * Walks one chain partition of a trail (index or local store) in seq order and reports
 * every modified document (content no longer matches its hash), deleted slot (a gap),
 * reordered documents (intact content sitting at another position), inserted documents
 * (not part of the chain) and a truncated tail: the newest signed checkpoint, read from
 * outside the index, covers positions the trail no longer holds, or the writer's chain head
 * on the bus records positions past the trail's head as written and confirmed. Events past
 * the last signed checkpoint make the verdict `unverified-tail`, never `ok`.
 */
export async function verifyTrail(opts: VerifyOptions): Promise<VerifyReport> {
  const partition = opts.partition ?? 'writer-0';
  const problems: VerifyProblem[] = [];
  const headSrc = opts.head ?? ('bus' in opts.checkpoints ? { bus: opts.checkpoints.bus } : false);
  // Witnesses are read before the trail: a checkpoint or a confirmed head read first names only
  // what every sink already held, so a running writer cannot make a complete trail look cut.
  // The head is read again after the trail: nothing read may lie past what the writer ever assigned.
  const rawCheckpoints = await loadCheckpoints(opts.checkpoints, partition);
  const before = headSrc ? await readBusHead(headSrc, partition) : undefined;
  const entries: Entry[] = [];
  for await (const { id, doc } of opts.sink.readChain({ partition })) {
    const filler = isFiller(doc);
    const chain = chainOf(doc);
    entries.push({ id, doc, chain, seq: chain?.seq ?? -1, filler, valid: filler ? chain !== undefined : selfValid(id, doc, chain) });
  }
  const after = headSrc ? await readBusHead(headSrc, partition) : undefined;

  // Signed checkpoints: the newest valid one bounds the chain.
  let best: CheckpointClaims | undefined;
  let badCheckpoints = 0;
  for (const raw of rawCheckpoints) {
    const jws = typeof raw === 'string' ? raw : raw.jws;
    try {
      const c = await verifyCheckpoint(jws, opts.publicKey);
      if (c.partition === partition && (!best || c.seq > best.seq)) best = c;
    } catch {
      badCheckpoints++;
    }
  }

  // Invalid documents whose content fits another invalid document's slot were moved, not edited.
  const invalid = entries.filter((e) => !e.valid);
  const moved = new Set<Entry>();
  for (const e of invalid) {
    for (const o of invalid) {
      const c = o.chain;
      if (o === e || !c || !e.chain) continue;
      if (validAt(e.doc, c) || validAt(e.doc, { seq: c.seq, prevHash: e.chain.prevHash, hash: e.chain.hash })) {
        moved.add(e);
        break;
      }
    }
  }
  for (const e of invalid) {
    if (moved.has(e)) problems.push({ kind: 'reordered', seq: e.seq, id: e.id, detail: `event ${e.doc.event?.id} sits at position ${e.seq}, not where it was sealed` });
    else if (!e.chain) problems.push({ kind: 'inserted', id: e.id, detail: 'document without chain fields' });
    else problems.push({ kind: 'modified', seq: e.seq, id: e.id, detail: 'content does not match its chain hash' });
  }

  // Walk the slots 1..max: gaps are deletions, extra claimants of a slot are insertions, broken links are reported once.
  const bySeq = new Map<number, Entry[]>();
  for (const e of entries) if (e.seq >= 1) bySeq.set(e.seq, [...(bySeq.get(e.seq) ?? []), e]);
  const maxSeq = entries.reduce((m, e) => Math.max(m, e.seq), 0);
  let prevHash: string | undefined = GENESIS_HASH;
  for (let s = 1; s <= maxSeq; s++) {
    const here = bySeq.get(s) ?? [];
    if (here.length === 0) {
      problems.push({ kind: 'deleted', seq: s, detail: `no document at position ${s}` });
      prevHash = undefined;
      continue;
    }
    // The one that links to its predecessor (or the first) holds the slot; others were inserted.
    const holder = here.find((e) => e.valid && prevHash !== undefined && e.chain!.prevHash === prevHash) ?? here.find((e) => e.valid) ?? here[0]!;
    for (const e of here) {
      if (e !== holder && e.valid) problems.push({ kind: 'inserted', seq: s, id: e.id, detail: `a second document claims position ${s}` });
    }
    const c = holder.chain!;
    if (holder.valid && prevHash !== undefined && c.prevHash !== prevHash) {
      problems.push({ kind: 'inserted', seq: s, id: holder.id, detail: `position ${s} does not link to position ${s - 1}` });
    }
    // After a bad slot the link is unknown: the slot is already reported, do not blame its successor.
    prevHash = holder.valid ? c.hash : undefined;
  }

  const checkpointSeq = best?.seq ?? 0;
  const cutBy: string[] = [];
  if (best) {
    const at = (bySeq.get(best.seq) ?? []).find((e) => e.valid);
    if (maxSeq < best.seq) cutBy.push(`a signed checkpoint covers ${best.seq}`);
    else if (at && at.chain!.hash !== best.hash) {
      problems.push({ kind: 'modified', seq: best.seq, id: at.id, detail: 'the signed checkpoint names another hash at this position (chain rewritten)' });
    }
  }
  const witness = compareWithBusHead(before, after, maxSeq, bySeq, problems);
  cutBy.push(...witness.cutBy);
  if (cutBy.length > 0) {
    const covered = Math.max(best?.seq ?? 0, witness.confirmedHead);
    problems.push({ kind: 'truncated', seq: maxSeq + 1, detail: `trail ends at ${maxSeq}; ${cutBy.join(' and ')} (${covered - maxSeq} missing)` });
  }
  if (badCheckpoints > 0 && !best) problems.push({ kind: 'modified', detail: `${badCheckpoints} checkpoint(s) fail signature verification` });
  problems.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const unverifiedTail = Math.max(0, maxSeq - checkpointSeq);
  const verdict: VerifyVerdict = problems.length > 0 ? 'failed' : unverifiedTail > 0 || witness.inFlight > 0 ? 'unverified-tail' : 'ok';
  return {
    ok: verdict === 'ok',
    verdict,
    partition,
    total: entries.length,
    fillers: entries.filter((e) => e.filler).length,
    checkpointSeq,
    trailHead: maxSeq,
    busHead: before?.seq,
    unverifiedTail,
    inFlight: witness.inFlight,
    badCheckpoints,
    problems,
  };
}

/**
 * Compares the trail's head with the writer's head on the bus (read before and after the
 * trail): confirmed positions past the trail's head were cut; positions past every head the
 * writer ever assigned were inserted; the head's hash must match the trail's document there.
 */
function compareWithBusHead(
  before: BusHead | undefined,
  after: BusHead | undefined,
  trailHead: number,
  bySeq: Map<number, Entry[]>,
  problems: VerifyProblem[],
): { cutBy: string[]; confirmedHead: number; inFlight: number } {
  const out = { cutBy: [] as string[], confirmedHead: 0, inFlight: 0 };
  if (before && before.seq > trailHead) {
    const reserved = new Set(before.reserved);
    let missing = 0;
    for (let s = trailHead + 1; s <= before.seq; s++) {
      if (reserved.has(s)) out.inFlight++;
      else {
        missing++;
        out.confirmedHead = s;
      }
    }
    if (missing > 0) out.cutBy.push(`the chain head on the bus records ${out.confirmedHead} written and confirmed`);
  }
  if (before && before.seq >= 1 && before.seq <= trailHead && !before.reserved.includes(before.seq)) {
    const at = (bySeq.get(before.seq) ?? []).find((e) => e.valid);
    if (at && at.chain!.hash !== before.hash && !problems.some((p) => p.kind === 'modified' && p.seq === before.seq)) {
      problems.push({ kind: 'modified', seq: before.seq, id: at.id, detail: 'the chain head on the bus names another hash at this position (chain rewritten)' });
    }
  }
  if (after && trailHead > after.seq) {
    problems.push({
      kind: 'inserted',
      seq: after.seq + 1,
      detail: `positions ${after.seq + 1}..${trailHead} were never assigned by the writer (its head on the bus is ${after.seq})`,
    });
  }
  return out;
}

/** Human-readable report for `agentgate verify` (one line per problem, a verdict line last). */
export function formatVerifyReport(r: VerifyReport): string {
  const bus = r.busHead !== undefined ? `, chain head on the bus at ${r.busHead}` : '';
  const lines = [`partition ${r.partition}: ${r.total} documents, signed checkpoint at ${r.checkpointSeq}${bus}${r.fillers ? `, ${r.fillers} dead-letter filler(s)` : ''}`];
  for (const p of r.problems) lines.push(`  ${p.kind.toUpperCase()}${p.seq !== undefined ? ` seq=${p.seq}` : ''}${p.id ? ` id=${p.id}` : ''}: ${p.detail}`);
  if (r.checkpointSeq === 0 && r.total > 0) lines.push('  warning: no valid signed checkpoint found; nothing in this trail is covered by a signature');
  if (r.busHead === undefined) lines.push('  warning: no chain head on the bus for this partition; a tail cut past the last checkpoint shows only as unverified');
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
