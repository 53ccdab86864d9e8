/** One server-sent event. */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Incremental SSE parser (WHATWG event-stream framing: `event:`/`data:`
 * lines, blank line ends an event, CRLF or LF). Feed it decoded text as it
 * arrives; it never holds more than one event (bounded: an event larger
 * than 1 MiB is dropped, since it is observed for the audit only).
 */
export class SseParser {
  #buf = '';
  #event: string | undefined;
  #data: string[] = [];
  #size = 0;
  #oversized = false;

  push(text: string, emit: (e: SseEvent) => void): void {
    this.#buf += text;
    let nl = this.#buf.indexOf('\n');
    while (nl !== -1) {
      let line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.#line(line, emit);
      nl = this.#buf.indexOf('\n');
    }
    if (this.#buf.length > MAX_EVENT_BYTES) {
      this.#buf = '';
      this.#oversized = true;
    }
  }

  /** Dispatches a last event that was not followed by a blank line. */
  end(emit: (e: SseEvent) => void): void {
    if (this.#buf !== '') this.#line(this.#buf, emit);
    this.#buf = '';
    this.#line('', emit);
  }

  #line(line: string, emit: (e: SseEvent) => void): void {
    if (line === '') {
      if (this.#data.length > 0 && !this.#oversized) emit({ event: this.#event, data: this.#data.join('\n') });
      this.#event = undefined;
      this.#data = [];
      this.#size = 0;
      this.#oversized = false;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') {
      this.#size += value.length;
      if (this.#size > MAX_EVENT_BYTES) this.#oversized = true;
      else this.#data.push(value);
    }
  }
}
