import type { Bus } from '@agentgate/bus';
import { CHAIN_BUCKET, decodeChainHead, type StoredChainHead } from './chain-state.js';

/**
 * What the bus says the writer of a partition has written: the chain head it keeps in the
 * KV bucket `agentgate_audit_chain` (a JetStream stream on NATS, a persisted log in the
 * in-process bus). The writer saves it before an event reaches any sink (the reservation)
 * and again once every sink confirmed the batch, so a position at or below `seq` that is
 * not `reserved` was in every sink when the head was read.
 */
export interface BusHead {
  seq: number;
  hash: string;
  /** Positions handed out but not yet confirmed by every sink (in flight). */
  reserved: number[];
}

/** Where verify reads the bus head from: a bus, or a given value (tests, offline copies). */
export type HeadSource = { bus: Bus } | { head: BusHead | undefined };

/** Reads the head of `partition`; undefined when the bus holds none (no writer ever ran there). */
export async function readBusHead(src: HeadSource, partition: string): Promise<BusHead | undefined> {
  if ('head' in src) return src.head;
  const kv = await src.bus.kv(CHAIN_BUCKET, { history: 1 });
  const entry = await kv.get(partition);
  if (!entry) return undefined;
  const v = decodeChainHead(entry.json<StoredChainHead>());
  if (!v) return undefined;
  return { seq: v.seq, hash: v.hash, reserved: v.reserved.map((r) => r.seq) };
}
