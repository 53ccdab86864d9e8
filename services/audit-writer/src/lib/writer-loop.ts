import { type Bus, type Consumer, type StreamMsg, backoffMs, sleep } from '@agentgate/bus';
import type { AuditEvent } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import type { Sink } from '../sinks/types.js';
import { assignSlots, type Decoded, decodeBatch, presentInEverySink, releaseSlots, sinkRetry, unreserved } from './batch-steps.js';
import { BatchCollector, type BatchLimits } from './batch-collector.js';
import type { ChainState } from './chain-state.js';
import type { Checkpointer } from './checkpointer.js';
import { publishDeadLetter } from './dead-letter.js';
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
}

/**
 * The writer's consuming loop and its state: collect a batch → process it (decode, ask the sinks,
 * assign slots, reserve, write, ack, release) → maybe checkpoint, until stop. A batch that fails
 * stays unacked and comes back; a chain conflict ends the loop with that error.
 */
export class WriterLoop {
  readonly stats: WriterStats;
  #stopping = false;
  /** Past this time a batch in flight stops retrying its sinks and is left unacked (set by stop()). */
  #stopDeadline = Number.POSITIVE_INFINITY;
  readonly #abort = new AbortController();
  readonly #p: WriterLoopParts;
  readonly #collector: BatchCollector;

  constructor(parts: WriterLoopParts) {
    this.#p = parts;
    this.#collector = new BatchCollector(parts.consumer, parts.batch, () => this.#stopping);
    this.stats = { indexed: 0, alreadyIndexed: 0, deadLettered: 0, batches: 0, retries: 0, head: parts.chain.value.seq };
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Runs until stop(); rejects with the fatal error (ERR_CHAIN_CONFLICT). */
  async run(): Promise<void> {
    let attempt = 0;
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
  }

  /** One turn of the loop: a batch (if any arrived) and a checkpoint when due. */
  async step(): Promise<void> {
    const msgs = await this.#collector.collect();
    if (msgs.length > 0) await this.processBatch(msgs);
    await this.#p.checkpointer.maybe(this.#p.chain.confirmedHead());
  }

  /** Seals, writes and acks one batch; resolves once every message is acked. */
  async processBatch(msgs: StreamMsg[]): Promise<void> {
    const { chain, sinks, partition, log } = this.#p;
    // One span per event, continuing the trace its message carries (proxy → masking → here).
    const spans = batchSpans('agentgate.index', msgs);
    const decoded = await decodeBatch(msgs, (msg, reason) => this.#deadLetterRaw(msg, reason));
    // Always ask the sinks: a redelivery whose ack was lost must not take a second chain slot.
    const giveUp = (): boolean => Date.now() > this.#stopDeadline;
    const present = await presentInEverySink(
      sinks,
      unreserved(decoded, chain.value),
      sinkRetry(log, 'existing', giveUp, () => this.stats.retries++),
    );
    const { items, alreadyIndexed } = assignSlots(decoded, chain.value, present, partition, log);
    this.stats.alreadyIndexed += alreadyIndexed;
    // The reservation is durable before any sink sees the event: a crash replays the same slots.
    if (items.length > 0) await chain.save();
    await this.#write(msgs, decoded, items);
    await Promise.all(msgs.map((m) => m.ack()));
    spans.end();
    releaseSlots(chain.value, items);
    // The head on the bus is verify's second witness: once saved without these reservations, a cut of them is a cut tail, not "in flight".
    if (items.length > 0) await chain.save();
    this.stats.batches++;
    this.stats.head = chain.value.seq;
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
