import { Transform, type TransformCallback } from 'node:stream';
import type { Finding, Masker, StreamRedactor } from '@agentgate/masking';

/** Terminators of a server-sent event: a blank line, in any of the three line endings. */
const SSE = ['\n\n', '\r\r', '\r\n\r\n'].map((t) => Buffer.from(t));
/** Terminator of a JSON-lines record: a raw newline never occurs inside JSON text. */
const LINES = [Buffer.from('\n')];

/**
 * Streaming media types whose records no secret form spans, so they can be
 * masked record by record: server-sent events and newline-delimited JSON.
 */
export function recordTerminators(mediaType: string): readonly Buffer[] | undefined {
  if (mediaType === 'text/event-stream') return SSE;
  if (
    ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/json-seq', 'application/stream+json'].includes(
      mediaType,
    )
  )
    return LINES;
  return undefined;
}

/** End of the last complete record in `buf` (0 when there is none). */
function lastEventEnd(buf: Buffer, terminators: readonly Buffer[]): number {
  let end = 0;
  for (const t of terminators) {
    const at = buf.lastIndexOf(t);
    if (at >= 0) end = Math.max(end, at + t.length);
  }
  return end;
}

/**
 * Masks a `text/event-stream` (or newline-delimited JSON) body one complete
 * event (record) at a time, so each reaches the client as soon as it is
 * whole. The byte redactor would hold back up to `maxHoldBack` bytes
 * (12 KiB with every detector), which stalls a model's answer of a few
 * hundred short events. Nothing is lost: a blank line ends an event (a raw
 * newline a JSON record), and no secret's form holds one there (a value
 * that spans lines is JSON-escaped), so every match lies inside one record.
 * A record larger than `maxEvent` switches the rest of the body to the byte
 * redactor (still masked, only later).
 */
export class SseMasker extends Transform {
  readonly #masker: Masker;
  readonly #maxEvent: number;
  readonly #terminators: readonly Buffer[];
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #fallback: StreamRedactor | undefined;
  readonly #findings: Finding[] = [];

  constructor(masker: Masker, opts: { maxEvent?: number; terminators?: readonly Buffer[] } = {}) {
    super();
    this.#masker = masker;
    this.#maxEvent = opts.maxEvent ?? Math.max(64 * 1024, 8 * masker.maxHoldBack);
    this.#terminators = opts.terminators ?? SSE;
  }

  /** What was masked (all events, and the fallback's findings). */
  findings(): Finding[] {
    return [...this.#findings, ...(this.#fallback?.findings() ?? [])];
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#fallback) {
      this.#emit(this.#fallback.push(chunk));
      cb();
      return;
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const buf = this.#pending.length === 1 ? chunk : Buffer.concat(this.#pending);
    const end = lastEventEnd(buf, this.#terminators);
    const rest = buf.subarray(end);
    if (end > 0) this.#maskWhole(buf.subarray(0, end));
    if (rest.length > this.#maxEvent) {
      // An event this long is not a model's delta: stream the rest through the byte redactor (bounded memory).
      this.#fallback = this.#masker.stream();
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#emit(this.#fallback.push(rest));
    } else {
      this.#pending = rest.length > 0 ? [Buffer.from(rest)] : [];
      this.#pendingBytes = rest.length;
    }
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (this.#fallback) this.#emit(this.#fallback.end());
    else if (this.#pendingBytes > 0) this.#maskWhole(Buffer.concat(this.#pending));
    cb();
  }

  #maskWhole(events: Buffer): void {
    const r = this.#masker.maskBytes(events);
    this.#findings.push(...r.findings);
    this.#emit(r.bytes);
  }

  #emit(bytes: Uint8Array): void {
    if (bytes.length > 0) this.push(bytes);
  }
}
