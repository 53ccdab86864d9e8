import { Transform, type TransformCallback } from 'node:stream';
import type { Finding, Masker, StreamRedactor } from '@agentgate/masking';

/** How long a long-running response may be quiet before the redactor's held-back bytes go out. */
export const IDLE_FLUSH_MS = 20;

/**
 * The masking stage of long-running responses (watches, followed logs):
 * the streaming redactor holds back up to twice its window so a secret
 * split across chunks is still caught, which would keep the end of a watch
 * event from the client until the next one arrives, minutes later. When no
 * chunk came for `idleMs`, the redactor is ended (flushing what it held,
 * masked) and a fresh one continues. Masking stays exact within a burst;
 * only a secret split by an upstream pause of `idleMs` or more can escape,
 * and the upstream writes each watch event or log line whole.
 */
export class IdleFlushMask extends Transform {
  readonly #masker: Masker;
  readonly #idleMs: number;
  #redactor: StreamRedactor;
  #timer: NodeJS.Timeout | undefined;
  readonly #found: Finding[][] = [];

  constructor(masker: Masker, idleMs: number) {
    super();
    this.#masker = masker;
    this.#idleMs = idleMs;
    this.#redactor = masker.stream();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const out = this.#redactor.push(chunk);
    this.#arm();
    cb(null, out.length > 0 ? Buffer.from(out.buffer, out.byteOffset, out.byteLength) : undefined);
  }

  override _flush(cb: TransformCallback): void {
    this.#disarm();
    cb(null, this.#rotate() ?? undefined);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#disarm();
    cb(err);
  }

  /** Findings of every redactor so far. */
  findings(): Finding[] {
    return [...this.#found.flat(), ...this.#redactor.findings()];
  }

  #arm(): void {
    this.#disarm();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.destroyed || this.writableEnded) return;
      const out = this.#rotate();
      if (out) this.push(out);
    }, this.#idleMs);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Ends the current redactor (its held bytes, masked) and starts a fresh one. */
  #rotate(): Buffer | undefined {
    const out = this.#redactor.end();
    this.#found.push(this.#redactor.findings());
    this.#redactor = this.#masker.stream();
    return out.length > 0 ? Buffer.from(out.buffer, out.byteOffset, out.byteLength) : undefined;
  }
}
