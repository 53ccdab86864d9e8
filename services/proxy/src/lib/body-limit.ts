import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ProxyError } from '../errors.js';

/**
 * The client's request body, counted and bounded: fails with
 * ERR_BODY_TOO_LARGE past `max`, and with the client's error or abort.
 *
 * A Readable over the request's own 'data' events, not a Transform piped
 * from it: a blob upload is thousands of ~64 KiB chunks, and a Transform
 * (a Writable and a Readable side per chunk, plus pipe's bookkeeping) was
 * most of the gateway's JS time per byte on that path. Backpressure is
 * kept by hand: the request is paused while this stream's buffer is full
 * and resumed when its consumer reads again.
 *
 * The request itself is never destroyed from here: an over-limit body must
 * not close the client's socket before the 413 is written (it is paused
 * and let go instead, as `pipe` did).
 */
export class ByteLimit extends Readable {
  bytes = 0;
  readonly #max: number;
  readonly #req: IncomingMessage;
  readonly #onData = (chunk: Buffer): void => {
    this.bytes += chunk.length;
    if (this.bytes > this.#max) {
      this.destroy(new ProxyError('ERR_BODY_TOO_LARGE', `request body exceeds ${this.#max} bytes`));
      return;
    }
    if (!this.push(chunk)) this.#req.pause();
  };
  readonly #onEnd = (): void => {
    this.push(null);
  };

  constructor(req: IncomingMessage, max: number) {
    super();
    this.#max = max;
    this.#req = req;
    // Kept for the request's life: an 'error' without a listener would be thrown, and destroy() on a destroyed stream does nothing.
    req.on('error', (err) => this.destroy(err));
    req.on('aborted', () => this.destroy(new ProxyError('ERR_BAD_REQUEST', 'the client aborted the request')));
    req.on('data', this.#onData);
    req.on('end', this.#onEnd);
  }

  override _read(): void {
    this.#req.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Let go of the request, paused: whoever answers the client decides what becomes of the rest of its body.
    this.#req.off('data', this.#onData);
    this.#req.off('end', this.#onEnd);
    this.#req.pause();
    cb(err);
  }
}

/** The client body behind a limit (see ByteLimit). */
export function limitedBody(req: IncomingMessage, max: number): ByteLimit {
  const limit = new ByteLimit(req, max);
  // The error reaches whoever consumes the body (forwarder, adapter); this keeps an unconsumed one from going uncaught.
  limit.on('error', () => {});
  return limit;
}

/**
 * Counts the bytes `r` emits, beside whoever consumes it: a 'data' listener
 * instead of a counting stage in the pipeline (one stream hop less per
 * chunk). Flow control stays the consumer's: a paused stream emits to no
 * listener. Attach it in the same tick as the pipe that reads `r` (a 'data'
 * listener starts the flow on the next tick).
 */
export function countBytes(r: Readable): { readonly bytes: number } {
  const count = { bytes: 0 };
  r.on('data', (chunk: { length: number }) => {
    count.bytes += chunk.length;
  });
  return count;
}
