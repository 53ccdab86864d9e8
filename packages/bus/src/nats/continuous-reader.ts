import type { Consumer as NatsConsumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { BusError } from '../errors.js';
import type { BatchReader, ReaderOptions, StreamMsg } from '../types.js';
import { mapNatsError } from './errors-map.js';

/**
 * Reads a durable pull consumer through one standing pull (nats.js `consume`): the server pushes
 * messages as they are stored, up to `2 × batch` requested at a time, and the client asks for more
 * as they arrive. Against a `fetch` per batch this saves, per batch, a consumer-info round trip, a
 * pull request and its iterator and timers — at a moderate rate, where batches are small, most of
 * what a message cost. An idle reader costs one pull per 30 s and the server's heartbeats.
 *
 * Messages wait here, in stream order, until `next()` hands them out (at most `batch` at once).
 * How many can wait is bounded by the consumer's `maxAckPending` (the server stops delivering
 * there); their ack wait runs meanwhile, as with a fetched batch.
 *
 * If the pull ends (connection closed, subscription refused), `next()` rejects once with the error
 * and the call after starts a new one. nats.js recovers from disconnects and heartbeat gaps itself.
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
  #messages: ConsumerMessages | undefined;
  #failure: BusError | undefined;
  /** Set while next() waits: called on every arrival, failure or close. */
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(consumer: NatsConsumer, opts: ReaderOptions, wrap: (m: JsMsg) => StreamMsg, where: string) {
    this.#consumer = consumer;
    this.#batch = Math.max(1, Math.floor(opts.batch));
    this.#expiresMs = opts.expiresMs ?? 1000;
    this.#lingerMs = opts.lingerMs ?? 0;
    this.#wrap = wrap;
    this.#where = where;
  }

  async next(): Promise<StreamMsg[]> {
    if (this.#closed) return [];
    this.#throwFailure();
    if (this.#messages === undefined) await this.#start();
    if (this.#available() === 0) await this.#wait(this.#expiresMs, 1);
    if (this.#lingerMs > 0 && this.#available() > 0 && this.#available() < this.#batch) await this.#wait(this.#lingerMs, this.#batch);
    // Messages already delivered are handed out even if the pull failed meanwhile: the failure is reported next time.
    if (this.#available() === 0) this.#throwFailure();
    return this.#take();
  }

  async close(): Promise<number> {
    if (this.#closed) return 0;
    this.#closed = true;
    const m = this.#messages;
    this.#messages = undefined;
    this.#wake?.();
    if (m !== undefined) await m.close().catch(() => undefined);
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

  async #start(): Promise<void> {
    let m: ConsumerMessages;
    try {
      m = await this.#consumer.consume({
        max_messages: this.#batch * 2,
        callback: (msg) => {
          this.#buf.push(msg);
          this.#wake?.();
        },
      });
    } catch (err) {
      throw mapNatsError(err, `consume from ${this.#where}`);
    }
    if (this.#closed) {
      await m.close().catch(() => undefined);
      return;
    }
    this.#messages = m;
    void m.closed().then(
      (err) => this.#ended(m, err),
      (err: unknown) => this.#ended(m, err),
    );
  }

  #ended(m: ConsumerMessages, err: unknown): void {
    if (this.#messages !== m) return; // closed by close()
    this.#messages = undefined;
    this.#failure = err ? mapNatsError(err, `consume from ${this.#where}`) : new BusError('ERR_BUS_UNAVAILABLE', `consume from ${this.#where}: the pull ended`);
    this.#wake?.();
  }

  /** Waits until `want` messages are there, the pull failed, the reader closed, or `ms` passed. */
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
