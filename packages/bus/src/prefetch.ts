import type { BatchReader, Consumer, FetchOptions, ReaderOptions, StreamMsg } from './types.js';

/**
 * The best reader a consumer offers: its own standing-pull reader when it has one (NATS), else a
 * {@link PrefetchingReader} over `fetch` (in process). Either hands out batches in stream order.
 */
export function openReader(consumer: Consumer, opts: ReaderOptions): BatchReader {
  return consumer.reader?.(opts) ?? new PrefetchingReader(consumer, { batch: opts.batch, ...(opts.expiresMs !== undefined && { expiresMs: opts.expiresMs }) });
}

/**
 * Reads a durable consumer batch by batch with the next pull already under
 * way: `next()` hands out the batch fetched meanwhile and starts the
 * following one, so the consumer's round trips (on NATS a consumer info and a
 * pull request per batch) overlap the caller's work on the current batch
 * instead of adding to it. At most two batches are out at once (the one being
 * worked on and the one being fetched); both count against the consumer's
 * `maxAckPending` and its ack wait runs while a batch waits here.
 *
 * A failed fetch rejects `next()` (with the bus error fetch threw); the
 * following call pulls afresh, so a caller's backoff between the two holds.
 */
export class PrefetchingReader implements BatchReader {
  readonly #consumer: Consumer;
  readonly #opts: FetchOptions;
  #ahead: Promise<StreamMsg[]> | undefined;
  #closed = false;

  constructor(consumer: Consumer, opts: FetchOptions) {
    this.#consumer = consumer;
    this.#opts = opts;
  }

  /** The next batch (possibly empty after `expiresMs` without messages); starts fetching the one after. */
  async next(): Promise<StreamMsg[]> {
    if (this.#closed) return [];
    const p = this.#ahead ?? this.#consumer.fetch(this.#opts);
    this.#ahead = undefined;
    const msgs = await p;
    if (!this.#closed) this.#ahead = this.#fetchAhead();
    return msgs;
  }

  /**
   * Stops reading ahead: waits for the pull under way (up to `expiresMs`) and hands what it got back
   * for immediate redelivery (nak), so another reader or the next start takes it without waiting for
   * the ack wait. Returns how many messages were handed back.
   */
  async close(): Promise<number> {
    this.#closed = true;
    const p = this.#ahead;
    this.#ahead = undefined;
    if (p === undefined) return 0;
    const msgs = await p.catch(() => [] as StreamMsg[]);
    for (const m of msgs) m.nak();
    return msgs.length;
  }

  #fetchAhead(): Promise<StreamMsg[]> {
    const p = this.#consumer.fetch(this.#opts);
    // Its failure is reported by the next call to next(); not an unhandled rejection meanwhile.
    p.catch(() => {});
    return p;
  }
}
