import { type Bus, type Consumer, type StreamMsg, backoffMs, sleep } from '@agentgate/bus';
import type { AuditEvent } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import type { Sink } from '../sinks/types.js';
import { ackAll, addReleased, assignSlots, type Decoded, decodeBatch, lookupPlan, presentInEverySink, releaseSlots, sinkRetry } from './batch-steps.js';
import { BatchCollector, type BatchLimits } from './batch-collector.js';
import type { ChainState } from './chain-state.js';
import type { Checkpointer } from './checkpointer.js';
import { publishDeadLetter } from './dead-letter.js';
import { resolveOrphans } from './orphans.js';
import { RecentIds } from './recent-ids.js';
import { type WriteItem, writeAll } from './write-all.js';
import { batchSpans } from '@agentgate/telemetry';

/** Counters of a running writer. */
export interface WriterStats {
  indexed: number;
  alreadyIndexed: number;
  deadLettered: number;
  batches: number;
  retries: number;
  head: number;
}

/** What the loop works with; built once by startAuditWriter. */
export interface WriterLoopParts {
  bus: Bus;
  sinks: Sink[];
  chain: ChainState;
  checkpointer: Checkpointer;
  consumer: Consumer;
  batch: BatchLimits;
  partition: string;
  log: Logger;
  /** Batches written at once (default {@link DEFAULT_IN_FLIGHT}); 1 = one batch at a time. */
  inFlight?: number;
  /** Ids every sink holds that the writer settled before the loop started (reservations released at start). */
  knownPresent?: Iterable<string>;
  /** Look up first deliveries in the sinks too (see lookupPlan; default false: only redeliveries). */
  lookupAll?: boolean;
}

/**
 * Batches whose sink writes run at once. The index works on several bulk requests in parallel;
 * one at a time leaves it idle while the writer fetches, seals, reserves and acks.
 */
export const DEFAULT_IN_FLIGHT = 3;

/**
 * Chain positions reserved at once, at most (before a new batch is prepared, while others are in
 * flight). Every reservation is in the chain head saved to KV (~125 bytes each): this keeps that
 * value well under NATS's default 1 MB message limit.
 */
export const MAX_RESERVED = 3000;

/** How often reservations no batch works on are looked up in the sinks (only while there are any). */
export const SETTLE_EVERY_MS = 2000;

/** How many released ids the writer remembers as "in every sink" (a few batches' worth). */
export const RECENT_RELEASED = 2 * MAX_RESERVED;

/** A batch prepared in order (decoded, slots assigned and reserved) and not yet written. */
interface Prepared {
  msgs: StreamMsg[];
  decoded: Decoded[];
  items: WriteItem[];
  spans: ReturnType<typeof batchSpans>;
}

/**
 * The writer's consuming loop and its state: collect a batch → prepare it (decode, ask the sinks,
 * assign slots, reserve) → hand it to a write (write, ack, release) → maybe checkpoint, until stop.
 *
 * Preparing is sequential, so chain positions are handed out in consumption order and each
 * reservation is saved before its batch reaches a sink; up to `inFlight` prepared batches are then
 * written at once, each acked once every sink confirmed it. A batch that fails stays unacked and
 * comes back into its reserved slots; a chain conflict ends the loop with that error.
 */
export class WriterLoop {
  readonly stats: WriterStats;
  #stopping = false;
  /** Past this time a batch in flight stops retrying its sinks and is left unacked (set by stop()). */
  #stopDeadline = Number.POSITIVE_INFINITY;
  readonly #abort = new AbortController();
  readonly #p: WriterLoopParts;
  readonly #collector: BatchCollector;
  readonly #maxInFlight: number;
  /** Batches being written; each settles (never rejects) once written and acked, or failed. */
  readonly #inFlight = new Set<Promise<void>>();
  /** Errors of batches in flight, handed to the loop by the next step (logged, backoff, or fatal). */
  #failures: unknown[] = [];
  /** Event ids of the batches in flight (their reservations are theirs to settle). */
  readonly #busy = new Set<string>();
  #lastSettle = 0;
  /** Ids lately released (every sink holds them): a first delivery of one again is acked without a slot. */
  readonly #released = new RecentIds(RECENT_RELEASED);

  constructor(parts: WriterLoopParts) {
    this.#p = parts;
    for (const id of parts.knownPresent ?? []) this.#released.add(id);
    this.#maxInFlight = Math.max(1, parts.inFlight ?? DEFAULT_IN_FLIGHT);
    this.#collector = new BatchCollector(parts.consumer, parts.batch, () => this.#stopping);
    this.stats = { indexed: 0, alreadyIndexed: 0, deadLettered: 0, batches: 0, retries: 0, head: parts.chain.value.seq };
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Runs until stop(); rejects with the fatal error (ERR_CHAIN_CONFLICT) once no batch is in flight. */
  async run(): Promise<void> {
    let attempt = 0;
    try {
      while (!this.#stopping) {
        try {
          await this.step();
          attempt = 0;
        } catch (err) {
          if ((err as { code?: string }).code === 'ERR_CHAIN_CONFLICT') {
            this.#p.log.fatal({ err }, 'audit writer stops: chain partition owned by another writer');
            throw err;
          }
          if (this.#stopping) break;
          this.#p.log.error({ err }, 'audit batch failed; its events stay unacked and come back');
          await sleep(backoffMs(attempt++), this.#abort.signal);
        }
      }
    } finally {
      // stop(): the batches in flight keep retrying until the stop deadline, then are left unacked.
      await this.#drain();
    }
    const errs = this.#takeFailures();
    const conflict = errs.find((e) => (e as { code?: string }).code === 'ERR_CHAIN_CONFLICT');
    if (conflict) throw conflict;
    for (const err of errs) this.#p.log.warn({ err }, 'audit batch not finished at stop; its events stay unacked and come back');
  }

  /** One turn of the loop: a batch (if any arrived) prepared and handed to a write, and a checkpoint when due. */
  async step(): Promise<void> {
    this.#rethrowFailure();
    await this.#room();
    this.#rethrowFailure();
    const msgs = await this.#collector.collect();
    if (msgs.length > 0) this.#launch(await this.prepare(msgs));
    await this.#settle();
    await this.#p.checkpointer.maybe(this.#p.chain.confirmedHead());
  }

  /**
   * Settles reservations no batch in flight works on (a batch failed after reserving; its
   * redelivery may reach another partition's writer): without this the checkpoint could never
   * pass them and verify would find their slots empty. See resolveOrphans.
   */
  async #settle(): Promise<void> {
    const { chain, sinks, partition, log } = this.#p;
    if (chain.value.reserved.length === 0 || Date.now() - this.#lastSettle < SETTLE_EVERY_MS) return;
    this.#lastSettle = Date.now();
    try {
      const released = await resolveOrphans(chain.value, partition, sinks, this.#busy, log);
      for (const r of released) this.#released.add(r.id);
      if (released.length > 0) await chain.save();
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_CHAIN_CONFLICT') throw err;
      log.warn({ err }, 'reserved chain positions not settled yet; trying again');
    }
  }

  /** Seals, writes and acks one batch; resolves once every message is acked (prepare + write, not pipelined). */
  async processBatch(msgs: StreamMsg[]): Promise<void> {
    await this.#complete(await this.prepare(msgs));
  }

  /**
   * The in-order part of a batch: decode, ask the sinks which ids they hold, assign chain slots
   * and save the reservations. Runs for one batch at a time (the loop awaits it).
   */
  async prepare(msgs: StreamMsg[]): Promise<Prepared> {
    const { chain, sinks, partition, log } = this.#p;
    // One span per event, continuing the trace its message carries (proxy → masking → here).
    const spans = batchSpans('agentgate.index', msgs);
    const decoded = await decodeBatch(msgs, (msg, reason) => this.#deadLetterRaw(msg, reason));
    // Ask the sinks about redeliveries: one whose ack was lost must not take a second chain slot.
    // A first delivery without a reservation needs no lookup (lookupPlan says why).
    const giveUp = (): boolean => Date.now() > this.#stopDeadline;
    const plan = lookupPlan(decoded, chain.value, this.#released, this.#p.lookupAll);
    const present =
      plan.ask.length === 0
        ? plan.present
        : await presentInEverySink(
            sinks,
            plan.ask,
            sinkRetry(log, 'existing', giveUp, () => this.stats.retries++),
          );
    if (present !== plan.present) for (const id of plan.present) present.add(id);
    // A batch in flight may have released a reservation meanwhile: that event is in every sink now.
    addReleased(present, decoded, plan.reservedBefore, chain.value);
    const { items, alreadyIndexed } = assignSlots(decoded, chain.value, present, partition, log);
    this.stats.alreadyIndexed += alreadyIndexed;
    // The reservation is durable before any sink sees the event: a crash replays the same slots.
    if (items.length > 0) await chain.save();
    return { msgs, decoded, items, spans };
  }

  /** Starts writing a prepared batch; its failure is handed to the loop by the next step. */
  #launch(batch: Prepared): void {
    const ids = batch.items.map((i) => i.sealed.event.id);
    for (const id of ids) this.#busy.add(id);
    const settled = (): void => {
      this.#inFlight.delete(p);
      for (const id of ids) this.#busy.delete(id);
    };
    const p: Promise<void> = this.#complete(batch).then(settled, (err: unknown) => {
      settled();
      this.#failures.push(err);
    });
    this.#inFlight.add(p);
  }

  /** The parallel part of a batch: write to every sink, ack, release the slots (saved). */
  async #complete(batch: Prepared): Promise<void> {
    const { chain } = this.#p;
    const { msgs, decoded, items, spans } = batch;
    await this.#write(msgs, decoded, items);
    await ackAll(msgs);
    spans.end();
    releaseSlots(chain.value, items);
    for (const i of items) this.#released.add(i.sealed.event.id);
    this.stats.batches++;
    this.stats.head = chain.value.seq;
    // The head on the bus is verify's second witness: once saved without these reservations, a cut of them is a cut tail, not "in flight".
    if (items.length > 0) await chain.save();
  }

  /** Waits until another batch may be prepared: fewer than `inFlight` written at once and room for its reservations. */
  async #room(): Promise<void> {
    const reserved = (): number => this.#p.chain.value.reserved.length;
    while (this.#inFlight.size >= this.#maxInFlight || (this.#inFlight.size > 0 && reserved() + this.#p.batch.maxEvents > MAX_RESERVED)) {
      await Promise.race(this.#inFlight);
    }
  }

  /** Waits for every batch in flight to settle. */
  async #drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /** Throws the first error of a batch in flight (the others are logged): the loop backs off or stops on it. */
  #rethrowFailure(): void {
    const errs = this.#takeFailures();
    if (errs.length === 0) return;
    const fatal = errs.find((e) => (e as { code?: string }).code === 'ERR_CHAIN_CONFLICT');
    for (const e of errs) if (e !== (fatal ?? errs[0])) this.#p.log.error({ err: e }, 'audit batch failed; its events stay unacked and come back');
    throw fatal ?? errs[0];
  }

  #takeFailures(): unknown[] {
    const errs = this.#failures;
    this.#failures = [];
    return errs;
  }

  /** Writes the batch's items to every sink (retrying, dead-lettering rejected content). */
  async #write(msgs: StreamMsg[], decoded: Decoded[], items: WriteItem[]): Promise<void> {
    const result = await writeAll(this.#p.sinks, items, {
      working: () => {
        for (const m of msgs) m.working();
      },
      giveUp: () => Date.now() > this.#stopDeadline,
      signal: this.#abort.signal,
      logger: this.#p.log,
      deadLetter: (sealed, reason) => this.#deadLetterSealed(decoded, sealed, reason),
    });
    this.stats.retries += result.retries;
    this.stats.indexed += result.created;
    this.stats.alreadyIndexed += result.exists;
  }

  async #deadLetterRaw(msg: StreamMsg, reason: string): Promise<void> {
    const { bus, partition, log } = this.#p;
    const raw = Buffer.from(msg.data).toString('base64');
    await publishDeadLetter(bus, { stage: 'writer', reason, partition, streamSeq: msg.seq, raw, time: new Date().toISOString() }, `writer-raw-${msg.seq}`);
    this.stats.deadLettered++;
    log.error({ streamSeq: msg.seq, reason }, 'audit event dead-lettered (invalid)');
  }

  async #deadLetterSealed(decoded: Decoded[], sealed: AuditEvent, reason: string): Promise<void> {
    const { bus, partition, log } = this.#p;
    const seq = sealed.event.sequence;
    const msg = decoded.find((d) => d.event.event.id === sealed.event.id)?.msg;
    await publishDeadLetter(
      bus,
      { stage: 'writer', reason, partition, streamSeq: msg?.seq ?? 0, event: sealed, time: new Date().toISOString() },
      `writer-${partition}-${seq}`,
    );
    this.stats.deadLettered++;
    log.error({ eventId: sealed.event.id, seq, reason }, 'audit event dead-lettered (rejected by the index)');
  }

  /** Marks the loop stopping: a batch in flight keeps retrying its sinks for `timeoutMs` more. */
  beginStop(timeoutMs: number): void {
    this.#stopping = true;
    this.#stopDeadline = Date.now() + timeoutMs;
  }

  /** After the loop ended: cuts any wait short, hands carried messages back, writes a last checkpoint and the chain state. */
  async finish(): Promise<void> {
    this.#abort.abort();
    this.#collector.release();
    try {
      await this.#p.checkpointer.maybe(this.#p.chain.confirmedHead(), true);
      await this.#p.chain.save();
    } catch (err) {
      this.#p.log.warn({ err }, 'audit writer could not save its final state; the next start resumes from the reservations');
    }
  }
}
