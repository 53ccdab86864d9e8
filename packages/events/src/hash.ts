import { createHash } from 'node:crypto';
import { type Path, canonicalize, canonicalizeObjectExcept } from './canonical.js';
import { EventError } from './errors.js';
import type { AuditEvent } from './types.js';

/**
 * Fields left out of the hashed form of an event:
 * - `event.hash` holds the hash itself (and `agentgate.chain.hash` held it in
 *   schema version 1: left out too, so an event stored before version 2
 *   still verifies as stored);
 * - `event.ingested` is set by the indexing side after the event is sealed.
 * Everything else is covered: `event.sequence` and
 * `agentgate.chain.partition/prev_hash` (version 1: `agentgate.chain.seq`).
 */
export const HASH_EXCLUDED_FIELDS = Object.freeze(['event.hash', 'event.ingested', 'agentgate.chain.hash'] as const);

/** The `prevHash` of the first event of a chain partition. */
export const GENESIS_HASH = '0'.repeat(64);

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * A stored document as the chain sees it, whatever its schema version:
 * version 2 keeps the position in `event.sequence` and the hash in
 * `event.hash`; version 1 kept them in `agentgate.chain.seq/hash`.
 */
export interface ChainView {
  partition: string;
  seq: number;
  prevHash: string;
  hash: string;
}

type Loose = { event?: { sequence?: unknown; hash?: unknown }; agentgate?: { chain?: Record<string, unknown> } } | null | undefined;

/** The chain fields of a stored document (either schema version), or undefined when it has none. */
export function chainOf(doc: unknown): ChainView | undefined {
  const d = doc as Loose;
  const c = d?.agentgate?.chain;
  if (!c || typeof c !== 'object') return undefined;
  const seq = d?.event?.sequence ?? c['seq'];
  const hash = d?.event?.hash ?? c['hash'];
  if (typeof c['partition'] !== 'string' || typeof c['prev_hash'] !== 'string' || typeof seq !== 'number' || typeof hash !== 'string') return undefined;
  return { partition: c['partition'], seq, prevHash: c['prev_hash'], hash };
}

/** A copy of the event without the excluded fields (the input is not modified). */
export function hashableForm(event: AuditEvent): Record<string, unknown> {
  const { hash: _h, ingested: _i, ...ev } = event.event;
  const out: Record<string, unknown> = { ...event, event: ev };
  const chain = event.agentgate.chain as Record<string, unknown> | undefined;
  if (chain && 'hash' in chain) {
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
  return createHash('sha256').update(hashText(event, prevHash), 'utf8').digest('hex');
}

type Obj = Record<string, unknown>;

function isPlain(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v);
  return (p === Object.prototype || p === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

const EVENT_SKIP = ['hash', 'ingested'];
const CHAIN_SKIP = ['hash'];
const NONE: readonly string[] = [];
const asUsual = (): null => null;
const chainChild = (key: string, value: unknown, path: Path): string | null =>
  key === 'chain' ? canonicalizeObjectExcept(value as Obj, path, CHAIN_SKIP, asUsual) : null;

/**
 * The text hashEvent hashes: `JCS({"event": hashableForm(event), "prev_hash": prevHash})`, written
 * in one pass over the event, skipping the excluded fields where they are instead of copying the
 * event without them (the copies and a second walk were ~20% of the audit writer's CPU). An event
 * of an unexpected shape (not plain objects where the chain fields live) takes the copying path,
 * so the text is the same for every input.
 */
function hashText(event: AuditEvent, prevHash: string): string {
  const root = event as unknown as Obj;
  const ag = root['agentgate'];
  const chain = isPlain(ag) ? ag['chain'] : undefined;
  if (!isPlain(root) || !isPlain(root['event']) || !isPlain(ag) || (chain !== undefined && !isPlain(chain))) {
    return canonicalize({ event: hashableForm(event), prev_hash: prevHash });
  }
  const withoutChainHash = chain !== undefined && 'hash' in chain;
  const body = canonicalizeObjectExcept(root, ['event'], NONE, (key, value, path) => {
    if (key === 'event') return canonicalizeObjectExcept(value as Obj, path, EVENT_SKIP, asUsual);
    if (key === 'agentgate' && withoutChainHash) return canonicalizeObjectExcept(value as Obj, path, NONE, chainChild);
    return null;
  });
  // "event" sorts before "prev_hash"; a hex digest needs no escaping.
  return `{"event":${body},"prev_hash":"${prevHash}"}`;
}

/** Where an event sits in its hash chain. */
export interface ChainPosition {
  partition: string;
  seq: number;
  prevHash: string;
}

/**
 * Returns a sealed copy of the event: `event.sequence` = seq,
 * `agentgate.chain` = {partition, prev_hash}, then `event.hash` = the hash
 * over everything else.
 */
export function sealEvent(event: AuditEvent, pos: ChainPosition): AuditEvent {
  // One copy of the root, `event` and `agentgate` (the input is not modified); the key order is what
  // copying, deleting `event.hash` and adding it back gave: `hash` last in `event`.
  let ev: AuditEvent['event'];
  if ('hash' in event.event) {
    const { hash: _h, ...rest } = event.event;
    ev = { ...rest, sequence: pos.seq };
  } else ev = { ...event.event, sequence: pos.seq };
  const sealed: AuditEvent = { ...event, event: ev, agentgate: { ...event.agentgate, chain: { partition: pos.partition, prev_hash: pos.prevHash } } };
  ev.hash = hashEvent(sealed, pos.prevHash);
  return sealed;
}

/**
 * True when a stored event's hash matches its content and links to
 * `prevHash`. Either schema version: version 1 documents (hash and seq in
 * `agentgate.chain`, `event.hash` equal to the chain hash when present)
 * verify as they were stored.
 */
export function verifyEventHash(event: AuditEvent, prevHash: string): boolean {
  const chain = chainOf(event);
  if (!chain || chain.prevHash !== prevHash || !HEX64.test(prevHash)) return false;
  const legacy = (event.agentgate.chain as Record<string, unknown>)['hash'];
  if (legacy !== undefined && event.event.hash !== undefined && event.event.hash !== legacy) return false;
  return hashEvent(event, prevHash) === chain.hash;
}
