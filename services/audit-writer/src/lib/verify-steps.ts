import { type AuditEvent, type ChainView, GENESIS_HASH, chainOf, hashEvent, verifyEventHash } from '@agentgate/events';
import type { JWK } from 'jose';
import { type CheckpointClaims, verifyCheckpoint } from '../checkpoint.js';
import type { Sink, StoredCheckpoint } from '../sinks/types.js';
import type { VerifyProblem } from '../verify.js';
import { isFiller } from './filler.js';
import type { BusHead } from './head-witness.js';

/**
 * The stages of verifyTrail, each a function of explicit inputs (so a test can run one alone):
 * readEntries → newestCheckpoint → classifyInvalid → walkSlots → checkAgainstCheckpoint →
 * compareWithBusHead.
 */

/** One document of the trail, with what its own hash says about it. */
export interface Entry {
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

/** Reads one partition of the trail, checking each document against its own hash. */
export async function readEntries(sink: Sink, partition: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const { id, doc } of sink.readChain({ partition })) {
    const filler = isFiller(doc);
    const chain = chainOf(doc);
    entries.push({ id, doc, chain, seq: chain?.seq ?? -1, filler, valid: filler ? chain !== undefined : selfValid(id, doc, chain) });
  }
  return entries;
}

/** The newest checkpoint of `partition` whose signature verifies (it bounds the chain), and how many failed to verify. */
export async function newestCheckpoint(
  raw: ReadonlyArray<StoredCheckpoint | string>,
  publicKey: JWK,
  partition: string,
): Promise<{ best: CheckpointClaims | undefined; badCheckpoints: number }> {
  let best: CheckpointClaims | undefined;
  let badCheckpoints = 0;
  for (const r of raw) {
    const jws = typeof r === 'string' ? r : r.jws;
    try {
      const c = await verifyCheckpoint(jws, publicKey);
      if (c.partition === partition && (!best || c.seq > best.seq)) best = c;
    } catch {
      badCheckpoints++;
    }
  }
  return { best, badCheckpoints };
}

/**
 * One problem per document that fails its own hash: `reordered` when its content fits another
 * invalid document's slot (moved, not edited), `inserted` without chain fields, else `modified`.
 */
export function classifyInvalid(entries: readonly Entry[]): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
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
    if (moved.has(e))
      problems.push({ kind: 'reordered', seq: e.seq, id: e.id, detail: `event ${e.doc.event?.id} sits at position ${e.seq}, not where it was sealed` });
    else if (!e.chain) problems.push({ kind: 'inserted', id: e.id, detail: 'document without chain fields' });
    else problems.push({ kind: 'modified', seq: e.seq, id: e.id, detail: 'content does not match its chain hash' });
  }
  return problems;
}

/** The trail by position, and its highest position. */
export interface Slots {
  bySeq: Map<number, Entry[]>;
  maxSeq: number;
}

/**
 * Walks the slots 1..max, adding to `problems`: gaps are deletions, extra claimants of a slot are
 * insertions, a broken link is reported once (after a bad slot the link is unknown: its successor
 * is not blamed).
 */
export function walkSlots(entries: readonly Entry[], problems: VerifyProblem[]): Slots {
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
    prevHash = holder.valid ? c.hash : undefined;
  }
  return { bySeq, maxSeq };
}

/**
 * Compares the trail with the newest signed checkpoint: a checkpoint past the trail's head means
 * a cut tail (returned as a reason for `truncated`); another hash at its position means the chain
 * was rewritten (added to `problems`).
 */
export function checkAgainstCheckpoint(best: CheckpointClaims | undefined, slots: Slots, problems: VerifyProblem[]): string[] {
  const cutBy: string[] = [];
  if (!best) return cutBy;
  const at = (slots.bySeq.get(best.seq) ?? []).find((e) => e.valid);
  if (slots.maxSeq < best.seq) cutBy.push(`a signed checkpoint covers ${best.seq}`);
  else if (at && at.chain!.hash !== best.hash) {
    problems.push({ kind: 'modified', seq: best.seq, id: at.id, detail: 'the signed checkpoint names another hash at this position (chain rewritten)' });
  }
  return cutBy;
}

/**
 * Compares the trail's head with the writer's head on the bus (read before and after the
 * trail): confirmed positions past the trail's head were cut; positions past every head the
 * writer ever assigned were inserted; the head's hash must match the trail's document there.
 */
export function compareWithBusHead(
  before: BusHead | undefined,
  after: BusHead | undefined,
  trailHead: number,
  bySeq: ReadonlyMap<number, Entry[]>,
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
      problems.push({
        kind: 'modified',
        seq: before.seq,
        id: at.id,
        detail: 'the chain head on the bus names another hash at this position (chain rewritten)',
      });
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
