import type { Consumer, StreamMsg } from '@agentgate/bus';

/** The `audit.batch` limits. */
export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
  maxWaitMs: number;
}

/**
 * Gathers one batch from the writer's consumer: up to `maxEvents` messages or `maxBytes`, waiting
 * at most `maxWaitMs` for more once the first arrived. Messages fetched past the byte budget are
 * carried (unacked) into the next batch; `release()` hands them back at stop.
 */
export class BatchCollector {
  #carry: StreamMsg[] = [];
  readonly #consumer: Consumer;
  readonly #limits: BatchLimits;
  readonly #stopping: () => boolean;

  constructor(consumer: Consumer, limits: BatchLimits, stopping: () => boolean) {
    this.#consumer = consumer;
    this.#limits = limits;
    this.#stopping = stopping;
  }

  /** Messages carried over to the next batch. */
  get carried(): number {
    return this.#carry.length;
  }

  /** The next batch (empty when nothing arrived within one pull wait). */
  async collect(): Promise<StreamMsg[]> {
    const out = this.#carry;
    this.#carry = [];
    if (out.length === 0) out.push(...(await this.#consumer.fetch({ batch: this.#limits.maxEvents, expiresMs: 1000 })));
    if (out.length === 0) return out;
    await this.#fill(
      out,
      out.reduce((n, m) => n + m.data.length, 0),
    );
    return out;
  }

  /** Tops `out` up while the batch has room and its wait has time left. */
  async #fill(out: StreamMsg[], startBytes: number): Promise<void> {
    const { maxEvents, maxBytes, maxWaitMs } = this.#limits;
    let bytes = startBytes;
    const start = Date.now();
    while (out.length < maxEvents && bytes < maxBytes && !this.#stopping()) {
      const left = maxWaitMs - (Date.now() - start);
      if (left <= 0) break;
      // Nothing waiting: close the batch now rather than block in a pull request (NATS waits ≥ 1 s).
      if ((await this.#consumer.pending()).pending === 0) break;
      const got = await this.#consumer.fetch({ batch: maxEvents - out.length, expiresMs: Math.min(left, 1000) });
      if (got.length === 0) break;
      for (const m of got) {
        // Over the byte budget: keep the rest (unacked) for the next batch.
        if (bytes >= maxBytes) this.#carry.push(m);
        else {
          out.push(m);
          bytes += m.data.length;
        }
      }
    }
  }

  /** Hands the carried messages back for redelivery (stop). */
  release(): void {
    for (const m of this.#carry) m.nak();
    this.#carry = [];
  }
}
