import { createHash } from 'node:crypto';
import { canonicalize } from './canonical.js';
import { EventError } from './errors.js';
import type { AuditEvent } from './types.js';

/**
 * Fields left out of the hashed form of an event:
 * - `event.hash` and `agentgate.chain.hash` hold the hash itself;
 * - `event.ingested` is set by the indexing side after the event is sealed.
 * Everything else, including `agentgate.chain.partition/seq/prev_hash`, is covered.
 */
export const HASH_EXCLUDED_FIELDS = Object.freeze(['event.hash', 'event.ingested', 'agentgate.chain.hash'] as const);

/** The `prevHash` of the first event of a chain partition. */
export const GENESIS_HASH = '0'.repeat(64);

const HEX64 = /^[0-9a-f]{64}$/;

/** A copy of the event without the excluded fields (the input is not modified). */
export function hashableForm(event: AuditEvent): Record<string, unknown> {
  const { hash: _h, ingested: _i, ...ev } = event.event;
  const out: Record<string, unknown> = { ...event, event: ev };
  const chain = event.agentgate.chain;
  if (chain) {
    const { hash: _c, ...rest } = chain;
    out['agentgate'] = { ...event.agentgate, chain: rest };
  }
  return out;
}

/**
 * SHA-256 (lower-case hex) binding an event to its predecessor:
 * `sha256(UTF-8(JCS({"event": E, "prev_hash": prevHash})))` where E is the
 * event without HASH_EXCLUDED_FIELDS. Changing any covered field, or the
 * predecessor, changes the hash.
 *
 * @param prevHash hash of the previous event of the partition, or GENESIS_HASH.
 */
export function hashEvent(event: AuditEvent, prevHash: string): string {
  // A malformed link would make the chain unverifiable: refuse rather than hash garbage.
  if (!HEX64.test(prevHash)) throw new EventError('ERR_HASH_INPUT', 'prevHash must be 64 lower-case hex characters');
  const text = canonicalize({ event: hashableForm(event), prev_hash: prevHash });
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Where an event sits in its hash chain. */
export interface ChainPosition {
  partition: string;
  seq: number;
  prevHash: string;
}

/**
 * Returns a sealed copy of the event: `agentgate.chain` = {partition, seq,
 * prev_hash, hash} and `event.hash` = the same hash.
 */
export function sealEvent(event: AuditEvent, pos: ChainPosition): AuditEvent {
  const base: AuditEvent = {
    ...event,
    agentgate: { ...event.agentgate, chain: { partition: pos.partition, seq: pos.seq, prev_hash: pos.prevHash, hash: '' } },
  };
  const hash = hashEvent(base, pos.prevHash);
  return {
    ...base,
    event: { ...base.event, hash },
    agentgate: { ...base.agentgate, chain: { partition: pos.partition, seq: pos.seq, prev_hash: pos.prevHash, hash } },
  };
}

/**
 * True when a sealed event's stored hash matches its content and links to
 * `prevHash` (its `chain.prev_hash` must equal `prevHash`, and `event.hash`,
 * when present, must equal `chain.hash`).
 */
export function verifyEventHash(event: AuditEvent, prevHash: string): boolean {
  const chain = event.agentgate.chain;
  if (!chain || chain.prev_hash !== prevHash || !HEX64.test(prevHash)) return false;
  if (event.event.hash !== undefined && event.event.hash !== chain.hash) return false;
  return hashEvent(event, prevHash) === chain.hash;
}
