/** Terminators of a server-sent event: a blank line, in any of the three line endings. */
const TERMINATORS = ['\r\n\r\n', '\n\n', '\r\r'].map((t) => Buffer.from(t));

/** The end (after its blank line) of the first complete event in `buf`, or -1. */
function firstEventEnd(buf: Buffer): number {
  let end = -1;
  for (const t of TERMINATORS) {
    const at = buf.indexOf(t);
    if (at >= 0 && (end === -1 || at + t.length < end)) end = at + t.length;
  }
  return end;
}

/**
 * Splits a `text/event-stream` body into whole events as bytes arrive, so
 * each event can be rewritten (masked, filtered) and sent on as soon as it
 * is complete. Bounded: an event larger than `maxEvent` bytes throws (the
 * caller cuts the stream rather than pass an event it could not inspect).
 */
export class SseSplitter {
  #buf: Buffer = Buffer.alloc(0);
  readonly #maxEvent: number;

  constructor(maxEvent: number) {
    this.#maxEvent = maxEvent;
  }

  /** Feeds bytes; returns the events they completed (each with its terminator). */
  push(chunk: Buffer): Buffer[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Buffer[] = [];
    for (let end = firstEventEnd(this.#buf); end !== -1; end = firstEventEnd(this.#buf)) {
      out.push(this.#buf.subarray(0, end));
      this.#buf = this.#buf.subarray(end);
    }
    if (this.#buf.length > this.#maxEvent) throw new RangeError('server-sent event too large');
    return out;
  }

  /** What is left at the end: an event the stream did not finish (empty when none). */
  rest(): Buffer {
    const r = this.#buf;
    this.#buf = Buffer.alloc(0);
    return r;
  }
}

/** One event's fields, in order; `data` lines joined by `\n` as the SSE spec does. */
export interface SseFields {
  /** Every line that is not `data:` (`id:`, `event:`, `retry:`, comments), kept as sent. */
  other: string[];
  data: string | undefined;
}

/** Parses one event's text (without caring for its terminator). */
export function parseEvent(text: string): SseFields {
  const other: string[] = [];
  const data: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') continue;
    if (line === 'data' || line.startsWith('data:')) {
      let v = line.slice(5);
      if (v.startsWith(' ')) v = v.slice(1);
      data.push(v);
    } else other.push(line);
  }
  return { other, data: data.length > 0 ? data.join('\n') : undefined };
}

/** Writes an event back: its other lines, then the data as one line per `\n`, then the blank line. */
export function formatEvent(f: SseFields): string {
  const lines = [...f.other];
  if (f.data !== undefined) for (const d of f.data.split('\n')) lines.push(`data: ${d}`);
  return `${lines.join('\n')}\n\n`;
}
