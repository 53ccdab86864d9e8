import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { ProxyError } from '../errors.js';

/** A pass-through that counts bytes and fails with ERR_BODY_TOO_LARGE past `max`. */
export class ByteLimit extends Transform {
  bytes = 0;
  readonly #max: number;
  constructor(max: number) {
    super();
    this.#max = max;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#max) {
      cb(new ProxyError('ERR_BODY_TOO_LARGE', `request body exceeds ${this.#max} bytes`));
      return;
    }
    cb(null, chunk);
  }
}

/**
 * The client body behind a limit. `pipe` (not `pipeline`) on purpose: an
 * over-limit body must not destroy the request socket before the 413 is
 * written; a client abort still ends the limited stream with an error.
 */
export function limitedBody(req: IncomingMessage, max: number): ByteLimit {
  const limit = new ByteLimit(max);
  req.on('error', (err) => limit.destroy(err));
  req.on('aborted', () => limit.destroy(new ProxyError('ERR_BAD_REQUEST', 'the client aborted the request')));
  // The error reaches whoever consumes the body (forwarder, adapter); this keeps an unconsumed one from going uncaught.
  limit.on('error', () => {});
  req.pipe(limit);
  return limit;
}

/** A pass-through that only counts bytes. */
export class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}
