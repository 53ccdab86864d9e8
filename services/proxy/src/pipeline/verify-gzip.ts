import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Finding, Masker, StreamRedactor } from '@agentgate/masking';
import { ProxyError } from '../errors.js';

/**
 * Passes a gzip body (sent as data: `application/gzip`, a tarball) through
 * unchanged while checking what it decodes to. Rewriting the archive would
 * break every checksum and signature the client verifies, and for a tarball
 * the member sizes; so nothing is masked here: a body holding something the
 * masker would mask is refused instead (ERR_UPSTREAM_UNMASKABLE).
 *
 * Streaming without leaking: compressed chunk k is released only once the
 * masker has decided every byte the decoder produced from chunks 0..k with
 * nothing found (a client holding those chunks can decode at most that
 * much). Until then the chunks wait here: about the masker's hold-back
 * (2 × window) of decoded data, whatever the compression ratio. Decoded
 * bytes are bounded by `maxDecoded` (a bomb fails ERR_UPSTREAM_TOO_LARGE).
 */
export class GzipVerifier extends Transform {
  readonly #decoder = createGunzip();
  readonly #redactor: StreamRedactor;
  readonly #maxDecoded: number;
  readonly #connection: string;
  /** Compressed chunks not yet released, with the decoded length reached once each was decoded. */
  readonly #held: Array<{ chunk: Buffer; decodedAt: number }> = [];
  #decoded = 0;
  /** Decoded bytes the masker has passed unchanged: everything before it is known to hold nothing. */
  #clean = 0;
  #failed: Error | undefined;
  #started = false;
  #findings: Finding[] = [];

  constructor(masker: Masker, maxDecoded: number, connection: string) {
    super();
    this.#redactor = masker.stream();
    this.#maxDecoded = maxDecoded;
    this.#connection = connection;
    this.#decoder.on('data', (d: Buffer) => this.#inspect(d));
    this.#decoder.on('error', (err) => this.#fail(err));
  }

  /** What the check found (only when it refused the body). */
  findings(): Finding[] {
    return this.#findings;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#failed) {
      cb(this.#failed);
      return;
    }
    this.#started = true;
    this.#decoder.write(chunk, (err) => {
      if (err) this.#fail(err);
      // zlib has emitted all it could decode from this chunk by now.
      this.#held.push({ chunk, decodedAt: this.#decoded });
      this.#release(false);
      cb(this.#failed);
    });
  }

  override _flush(cb: TransformCallback): void {
    if (this.#failed || !this.#started) {
      // An empty body holds nothing to check (gunzip would call it truncated).
      cb(this.#failed);
      return;
    }
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      if (!this.#failed) this.#check(this.#redactor.end());
      if (!this.#failed) this.#release(true);
      cb(this.#failed);
    };
    // 'end' when the data decoded whole; 'close' when the decoder failed (corrupt or truncated data).
    this.#decoder.once('end', done).once('close', done);
    this.#decoder.end();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#decoder.destroy();
    cb(err);
  }

  #inspect(d: Buffer): void {
    if (this.#failed) return;
    this.#decoded += d.length;
    if (this.#decoded > this.#maxDecoded) {
      this.#fail(
        new ProxyError(
          'ERR_UPSTREAM_TOO_LARGE',
          `connection "${this.#connection}": the upstream's gzip body decodes to more than ${this.#maxDecoded} bytes (gateway.limits.maxDecodedBytes); cut`,
        ),
      );
      return;
    }
    this.#check(this.#redactor.push(d));
  }

  #check(out: Uint8Array): void {
    const found = this.#redactor.findings();
    if (found.length > 0) {
      this.#findings = found;
      this.#fail(
        new ProxyError(
          'ERR_UPSTREAM_UNMASKABLE',
          `connection "${this.#connection}": the upstream's gzip body holds ${found.map((f) => f.ref ?? f.type).join(', ')}, which cannot be masked without rewriting it; refused`,
        ),
      );
      return;
    }
    this.#clean += out.length;
  }

  #release(all: boolean): void {
    while (this.#held.length > 0 && (all || this.#held[0]!.decodedAt <= this.#clean)) this.push(this.#held.shift()!.chunk);
  }

  #fail(err: Error): void {
    if (this.#failed) return;
    this.#failed = err;
    this.#held.length = 0;
    this.#decoder.destroy();
  }
}
