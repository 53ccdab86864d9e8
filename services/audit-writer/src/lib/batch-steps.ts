import { type RetryOptions, type StreamMsg, retry } from '@agentgate/bus';
import { type AuditEvent, decodeEvent, sealEvent } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import type { Sink } from '../sinks/types.js';
import type { ChainStateValue } from './chain-state.js';
import type { WriteItem } from './write-all.js';

/**
 * The steps of one batch, each a function of explicit inputs so a test can run it alone:
 * decode → ask the sinks what they hold → assign chain slots → (write) → release the slots.
 */

/** A message of the batch with its decoded event. */
export interface Decoded {
  msg: StreamMsg;
  event: AuditEvent;
}

/**
 * Decodes each message; one that is not a valid event goes to `deadLetter` (which resolves once the
 * DLQ stored it) and is left out. Order is kept: it is the order events take their chain slots in.
 */
export async function decodeBatch(msgs: readonly StreamMsg[], deadLetter: (msg: StreamMsg, reason: string) => Promise<void>): Promise<Decoded[]> {
  const decoded: Decoded[] = [];
  for (const msg of msgs) {
    try {
      decoded.push({ msg, event: decodeEvent(msg.data) });
    } catch (err) {
      await deadLetter(msg, `invalid event: ${(err as Error).message}`);
    }
  }
  return decoded;
}

/** Retry options for a sink call: ERR_SINK_UNAVAILABLE is retried (logged every tenth attempt) until `giveUp`. */
export function sinkRetry(log: Logger, what: string, giveUp: () => boolean, onRetry?: () => void): RetryOptions {
  return {
    retryable: (err) => (err as { code?: string }).code === 'ERR_SINK_UNAVAILABLE',
    giveUp,
    onRetry: (attempt, err) => {
      onRetry?.();
      if (attempt % 10 === 0) log.warn({ err, what }, 'audit sink unavailable; retrying');
    },
  };
}

/** The ids of `events` that every sink already holds (an event missing from one sink is not "present"). */
export async function presentInEverySink(
  sinks: readonly Sink[],
  events: ReadonlyArray<{ id: string; ts: string }>,
  retryOpts: RetryOptions,
): Promise<Set<string>> {
  let present: Set<string> | undefined;
  for (const s of sinks) {
    const got = await retry(
      () =>
        s.existing(
          events.map((e) => e.id),
          events.map((e) => e.ts),
        ),
      retryOpts,
    );
    present = present ? new Set([...present].filter((id) => got.has(id))) : got;
  }
  return present ?? new Set();
}

/** What {@link assignSlots} decided for a batch. */
export interface SlotPlan {
  /** Sealed events to write, in chain order (a redelivery keeps its reserved slot). */
  items: WriteItem[];
  /** Events every sink already held and that held no reservation: acked without a new slot. */
  alreadyIndexed: number;
}

/**
 * Seals each decoded event into the chain, mutating `chain`: an event with a reservation (a
 * redelivery after a crash or a failed batch) takes that slot again; an event not yet in every
 * sink takes the next slot, reserved; an event every sink holds takes none. A second copy of an
 * event id within the batch is skipped.
 */
export function assignSlots(decoded: readonly Decoded[], chain: ChainStateValue, present: ReadonlySet<string>, partition: string, log: Logger): SlotPlan {
  const reservedById = new Map(chain.reserved.map((r) => [r.id, r]));
  const items: WriteItem[] = [];
  const seen = new Set<string>();
  let alreadyIndexed = 0;
  for (const { event } of decoded) {
    const id = event.event.id;
    if (seen.has(id)) continue;
    seen.add(id);
    const r = reservedById.get(id);
    if (r) {
      const sealed = sealEvent(event, { partition, seq: r.seq, prevHash: r.prev });
      if (sealed.event.hash !== r.hash) log.error({ eventId: id, seq: r.seq }, 'redelivered event differs from its first delivery');
      items.push({ sealed });
    } else if (!present.has(id)) {
      const seq = chain.seq + 1;
      const sealed = sealEvent(event, { partition, seq, prevHash: chain.hash });
      const hash = sealed.event.hash!;
      chain.reserved.push({ id, seq, prev: chain.hash, hash, ts: event['@timestamp'] });
      chain.seq = seq;
      chain.hash = hash;
      items.push({ sealed });
    } else alreadyIndexed++;
  }
  return { items, alreadyIndexed };
}

/** Events of `decoded` that hold no reservation in `chain` (the ones whose presence in the sinks decides a new slot). */
export function unreserved(decoded: readonly Decoded[], chain: ChainStateValue): Array<{ id: string; ts: string }> {
  const reserved = reservedIds(chain);
  return decoded.filter((d) => !reserved.has(d.event.event.id)).map((d) => ({ id: d.event.event.id, ts: d.event['@timestamp'] }));
}

/** The ids holding a reservation in `chain`. */
export function reservedIds(chain: ChainStateValue): Set<string> {
  return new Set(chain.reserved.map((r) => r.id));
}

/** What {@link lookupPlan} decided: which events to look up in the sinks, which are known present. */
export interface LookupPlan {
  /** Ids reserved when the plan was made (see {@link addReleased}). */
  reservedBefore: Set<string>;
  /** Events to look up in every sink before they take a new slot. */
  ask: Array<{ id: string; ts: string }>;
  /** Events known to be in every sink without asking (released by this writer lately). */
  present: Set<string>;
}

/**
 * Decides which unreserved events of a batch the sinks are asked about. A **first delivery**
 * (delivery count 1) of an id this writer holds no reservation for and did not release lately
 * cannot have been written by this chain's writer: nobody handed it a slot, since every slot
 * is reserved before any sink sees its event. It is not looked up — one `_mget` get per document
 * less for the index. If it is stored anyway (the same event published again past the stream's
 * de-duplication window, a consumer recreated), its `create` answers 409 and writeAll finds where
 * it is stored: in this slot → confirmed; elsewhere → this slot gets a duplicate filler. Either
 * way the chain stays whole and verify passes. Redeliveries (count > 1: a lost ack, a failed
 * batch, a crash) are always looked up, so they never take a second slot. `lookupAll` asks about
 * every unreserved event (the behaviour before issue 21).
 */
export function lookupPlan(decoded: readonly Decoded[], chain: ChainStateValue, known: { has(id: string): boolean }, lookupAll = false): LookupPlan {
  const reservedBefore = reservedIds(chain);
  const ask: Array<{ id: string; ts: string }> = [];
  const present = new Set<string>();
  for (const { msg, event } of decoded) {
    const id = event.event.id;
    if (reservedBefore.has(id)) continue;
    if (known.has(id)) present.add(id);
    else if (lookupAll || msg.deliveryCount !== 1) ask.push({ id, ts: event['@timestamp'] });
  }
  return { reservedBefore, ask, present };
}

/**
 * Adds to `present` the events that were reserved when the sinks were asked (so not asked) and are
 * no longer: a batch in flight released them meanwhile, which it does only once every sink
 * confirmed them. Without this such an event would take a second slot.
 */
export function addReleased(present: Set<string>, decoded: readonly Decoded[], reservedBefore: ReadonlySet<string>, chain: ChainStateValue): void {
  if (reservedBefore.size === 0) return;
  const reserved = reservedIds(chain);
  for (const { event } of decoded) {
    const id = event.event.id;
    if (reservedBefore.has(id) && !reserved.has(id)) present.add(id);
  }
}

/**
 * Acks every message of a written batch. Without waiting for the server where the bus offers it
 * (one socket write for the batch instead of a request per message): a lost ack only means a
 * redelivery, which finds the event in every sink and is acked without a new slot.
 */
export function ackAll(msgs: readonly StreamMsg[]): Promise<void> {
  const waited: Array<Promise<void>> = [];
  for (const m of msgs) {
    if (m.ackNoWait) m.ackNoWait();
    else waited.push(m.ack());
  }
  return waited.length === 0 ? Promise.resolve() : Promise.all(waited).then(() => undefined);
}

/** Drops the reservations of the written items (every sink confirmed them and their messages are acked). */
export function releaseSlots(chain: ChainStateValue, items: readonly WriteItem[]): void {
  const done = new Set(items.map((i) => i.sealed.event.id));
  chain.reserved = chain.reserved.filter((r) => !done.has(r.id));
}
