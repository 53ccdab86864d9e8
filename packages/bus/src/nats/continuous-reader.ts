import type { Consumer as NatsConsumer, JsMsg } from '@nats-io/jetstream';
import { BusError } from '../errors.js';
import type { BatchReader, ReaderOptions, StreamMsg } from '../types.js';
import { mapNatsError } from './errors-map.js';

/**
 * Reads a durable pull consumer through pull requests kept standing one after the other: a pull asks
 * for `2 × batch` messages and lasts up to `expiresMs`; its messages are taken as they arrive (a
 * callback, not the pull's end) and the next pull goes out when it ends. Against a `fetch` per batch
 * sized to what is pending, this saves a consumer-info round trip per batch and, at a moderate rate,
 * a pull request per message or two: a pull now serves whatever arrives during its life. An idle
 * reader costs one pull per `expiresMs`.
 *
 * Messages wait here, in stream order, until `next()` hands them out (at most `batch` at once). No
 * new pull goes out while `2 × batch` wait, so a reader holds at most about `4 × batch` messages
 * (their ack wait runs meanwhile, as with a fetched batch). `close()` lets the pull under way end
 * (up to `expiresMs`: a message the server already sent is never dropped, which would delay it by
 * the ack wait and reorder it) and hands back what is not handed out.
 *
 * If a pull fails (connection closed, subscription refused, heartbeats missed), `next()` rejects
 * once with the error and the call after pulls again.
 */
export class ContinuousReader implements BatchReader {
  readonly #consumer: NatsConsumer;
  readonly #batch: number;
  readonly #expiresMs: number;
  readonly #lingerMs: number;
  readonly #wrap: (m: JsMsg) => StreamMsg;
  readonly #where: string;
  /** Delivered, not handed out yet: `#buf[#head..]`. */
  #buf: JsMsg[] = [];
  #head = 0;
  /** The pull under way; resolves when it has ended. */
  #pulling: Promise<void> | undefined;
  #failure: BusError | undefined;
  /** Set while next() waits: called on every arrival, failure or close. */
  #wake: (() => void) | undefined;
  #closed = false;
  readonly #push = (msg: JsMsg): void => {
    this.#buf.push(msg);
    this.#wake?.();
  };

  constructor(consumer: NatsConsumer, opts: ReaderOptions, wrap: (m: JsMsg) => StreamMsg, where: string) {
    this.#consumer = consumer;
    this.#batch = Math.max(1, Math.floor(opts.batch));
    this.#expiresMs = Math.max(1000, opts.expiresMs ?? 1000);
    this.#lingerMs = opts.lingerMs ?? 0;
    this.#wrap = wrap;
    this.#where = where;
  }

  async next(): Promise<StreamMsg[]> {
    if (this.#closed) return [];
    this.#throwFailure();
    this.#refill();
    if (this.#available() === 0) await this.#wait(this.#expiresMs, 1);
    if (this.#lingerMs > 0 && this.#available() > 0 && this.#available() < this.#batch) await this.#wait(this.#lingerMs, this.#batch);
    // Messages already delivered are handed out even if a pull failed meanwhile: the failure is reported next time.
    if (this.#available() === 0) this.#throwFailure();
    const out = this.#take();
    this.#refill();
    return out;
  }

  async close(): Promise<number> {
    if (this.#closed) return 0;
    this.#closed = true;
    this.#wake?.();
    await this.#pulling;
    let n = 0;
    for (let i = this.#head; i < this.#buf.length; i++, n++) this.#buf[i]!.nak();
    this.#buf = [];
    this.#head = 0;
    return n;
  }

  #available(): number {
    return this.#buf.length - this.#head;
  }

  #throwFailure(): void {
    const err = this.#failure;
    if (err === undefined) return;
    this.#failure = undefined;
    throw err;
  }

  #take(): StreamMsg[] {
    const end = Math.min(this.#buf.length, this.#head + this.#batch);
    const out: StreamMsg[] = new Array(end - this.#head);
    for (let i = this.#head; i < end; i++) out[i - this.#head] = this.#wrap(this.#buf[i]!);
    if (end === this.#buf.length) {
      this.#buf = [];
      this.#head = 0;
    } else {
      this.#head = end;
      // Drop the handed-out head now and then rather than shifting the array per batch.
      if (this.#head >= 1024) {
        this.#buf = this.#buf.slice(this.#head);
        this.#head = 0;
      }
    }
    return out;
  }

  /** Starts the next pull unless one is under way, the reader is closed or failed, or enough messages wait. */
  #refill(): void {
    if (this.#pulling !== undefined || this.#closed || this.#failure !== undefined || this.#available() >= this.#batch * 2) return;
    this.#pulling = this.#pull().finally(() => {
      this.#pulling = undefined;
      this.#wake?.();
      // Pull on at once while messages are wanted (a pull that ended full means more are there).
      this.#refill();
    });
  }

  async #pull(): Promise<void> {
    try {
      // nats.js takes the callback on a fetch as on consume: each message as it arrives, the pull ends on its own.
      const m = await this.#consumer.fetch({ max_messages: this.#batch * 2, expires: this.#expiresMs, callback: this.#push } as Parameters<
        NatsConsumer['fetch']
      >[0]);
      const err = await m.closed();
      if (err) throw err;
    } catch (err) {
      this.#failure = err instanceof BusError ? err : mapNatsError(err, `fetch from ${this.#where}`);
    }
  }

  /** Waits until `want` messages are there, a pull failed, the reader closed, or `ms` passed. */
  #wait(ms: number, want: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = () => {
        if (this.#available() >= want || this.#failure !== undefined || this.#closed) done();
      };
    });
  }
}
