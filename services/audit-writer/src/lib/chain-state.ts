import type { Kv } from '@agentgate/bus';
import { GENESIS_HASH } from '@agentgate/events';
import { AuditWriterError } from '../errors.js';

/** A chain position handed out but not yet confirmed by every sink and acked. */
export interface Reserved {
  id: string;
  seq: number;
  prev: string;
  hash: string;
  /** `@timestamp` of the event (locates its daily index). */
  ts: string;
}

/** The persisted head of one partition's chain. */
export interface ChainStateValue {
  /** Last assigned position (0 / GENESIS_HASH for an empty chain). */
  seq: number;
  hash: string;
  /** Positions handed out whose events are not yet known to be acked: a redelivery takes the same slot. */
  reserved: Reserved[];
}

/**
 * A run of consecutive reservations as the head is stored: the first position, its previous hash,
 * and `[id, hash, @timestamp]` per position; each later position's previous hash is the hash before it.
 */
interface StoredRun {
  seq: number;
  prev: string;
  r: Array<[id: string, hash: string, ts: string]>;
}

/**
 * The head as stored in KV. Version 1 (`reserved`: one object per reservation, ~230 bytes) is read
 * as it was; the writer stores `runs` (~125 bytes per reservation: with 3,000 reserved the value
 * went from ~700 KB to ~375 KB, and it is written once or twice per batch).
 */
export interface StoredChainHead {
  seq: number;
  hash: string;
  reserved?: Reserved[];
  runs?: StoredRun[];
}

/** The head a stored value describes (either layout); undefined when it is not a chain head. */
export function decodeChainHead(stored: StoredChainHead): ChainStateValue | undefined {
  if (!Number.isInteger(stored.seq) || typeof stored.hash !== 'string') return undefined;
  if (Array.isArray(stored.reserved)) return { seq: stored.seq, hash: stored.hash, reserved: stored.reserved };
  const reserved: Reserved[] = [];
  for (const run of stored.runs ?? []) {
    let prev = run.prev;
    let seq = run.seq;
    for (const [id, hash, ts] of run.r) {
      reserved.push({ id, seq, prev, hash, ts });
      prev = hash;
      seq++;
    }
  }
  return { seq: stored.seq, hash: stored.hash, reserved };
}

/** KV bucket of chain heads, one key per partition. */
export const CHAIN_BUCKET = 'agentgate_audit_chain';

/**
 * The chain head of one partition in a KV bucket, written with compare-and-set:
 * a second writer configured with the same partition fails (ERR_CHAIN_CONFLICT)
 * instead of forking the chain.
 */
export class ChainState {
  #kv: Kv;
  #key: string;
  #revision = 0;
  /** The last save asked for (the next one starts after it settles). */
  #tail: Promise<void> = Promise.resolve();
  /** A save asked for that has not serialised the value yet (later callers share it). */
  #queued: Promise<void> | undefined;
  value: ChainStateValue = { seq: 0, hash: GENESIS_HASH, reserved: [] };
  /** `[id, hash, ts]` JSON of each reservation, made once: a reservation is in every save until released (several per batch). */
  readonly #reservedJson = new WeakMap<Reserved, string>();

  constructor(kv: Kv, partition: string) {
    this.#kv = kv;
    this.#key = partition;
  }

  async load(): Promise<ChainStateValue> {
    const entry = await this.#kv.get(this.#key);
    if (entry && entry.operation === 'PUT') {
      const value = decodeChainHead(entry.json<StoredChainHead>());
      if (!value) throw new AuditWriterError('ERR_CHAIN_STATE', `the chain head of ${this.#key} is not one (no seq/hash)`);
      this.value = value;
      this.#revision = entry.revision;
    }
    return this.value;
  }

  /**
   * The head of the contiguous prefix every sink holds (what a checkpoint may cover): just before
   * the lowest reserved position, or the chain's head when nothing is reserved.
   */
  confirmedHead(): { seq: number; hash: string } {
    const first = this.value.reserved.reduce<Reserved | undefined>((m, r) => (!m || r.seq < m.seq ? r : m), undefined);
    return first ? { seq: first.seq - 1, hash: first.prev } : { seq: this.value.seq, hash: this.value.hash };
  }

  /**
   * Persists `value` (CAS on the revision this writer last saw). Saves run one at a time, in call
   * order (batches in flight call it concurrently; two CAS writes from the same revision would look
   * like a second writer). A call made while an earlier save has not started yet shares that save,
   * which writes the value as it is when it starts: resolved means "a value at least as new as the
   * one at call time is stored".
   */
  save(): Promise<void> {
    if (this.#queued) return this.#queued;
    const queued = this.#tail
      .catch(() => undefined)
      .then(() => {
        // From here on a change needs another save: this one serialises the value now.
        if (this.#queued === queued) this.#queued = undefined;
        return this.#write();
      });
    this.#queued = queued;
    this.#tail = queued;
    return queued;
  }

  /**
   * The value as stored ({@link StoredChainHead} with `runs`): consecutive reservations, each
   * linking to the one before, share one run; each reservation's text is reused from earlier saves.
   */
  #serialize(): string {
    const { seq, hash, reserved } = this.value;
    const runs: string[] = [];
    let parts: string[] = [];
    let head = '';
    let last: Reserved | undefined;
    for (const r of reserved) {
      if (!last || r.seq !== last.seq + 1 || r.prev !== last.hash) {
        if (last) runs.push(`${head}${parts.join(',')}]}`);
        head = `{"seq":${r.seq},"prev":${JSON.stringify(r.prev)},"r":[`;
        parts = [];
      }
      let text = this.#reservedJson.get(r);
      if (text === undefined) {
        text = JSON.stringify([r.id, r.hash, r.ts]);
        this.#reservedJson.set(r, text);
      }
      parts.push(text);
      last = r;
    }
    if (last) runs.push(`${head}${parts.join(',')}]}`);
    return `{"seq":${JSON.stringify(seq)},"hash":${JSON.stringify(hash)},"runs":[${runs.join(',')}]}`;
  }

  async #write(): Promise<void> {
    const data = this.#serialize();
    try {
      this.#revision = this.#revision === 0 ? await this.#kv.create(this.#key, data) : await this.#kv.update(this.#key, data, this.#revision);
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      if (code === 'ERR_KV_WRONG_REVISION' || code === 'ERR_KV_EXISTS') {
        // Two writers on one partition would fork the chain: stop rather than continue.
        throw new AuditWriterError('ERR_CHAIN_CONFLICT', `chain partition ${this.#key} was advanced by another writer`, { cause });
      }
      throw cause;
    }
  }
}
