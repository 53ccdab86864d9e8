import type { ServerResponse } from 'node:http';
import type { ClientLink, EarlyResponse } from '../adapters/types.js';

/**
 * Who writes the response head: an adapter that starts it early (to keep a
 * long operation alive in band), or the pipeline (a refusal or the
 * upstream's answer). Whoever comes first owns it; once the pipeline has
 * claimed the response, no adapter can start one any more.
 */
export class ResponseOwner implements ClientLink {
  readonly gone: AbortSignal;
  readonly #res: ServerResponse;
  readonly #requestId: string;
  #claimed = false;
  #early: EarlyResponse | undefined;

  constructor(res: ServerResponse, requestId: string) {
    this.#res = res;
    this.#requestId = requestId;
    const gone = new AbortController();
    this.gone = gone.signal;
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
  }

  startResponse(status: number, headers: Record<string, string>, early: EarlyResponse): ((chunk: Buffer) => void) | undefined {
    const res = this.#res;
    if (this.#claimed || res.headersSent || this.gone.aborted) return undefined;
    this.#claimed = true;
    this.#early = early;
    res.writeHead(status, { ...headers, 'cache-control': 'no-store', 'x-request-id': this.#requestId });
    res.flushHeaders();
    return (chunk) => {
      if (!res.destroyed && !res.writableEnded) res.write(chunk);
    };
  }

  /** The pipeline answers now: returns the adapter's early response when its head already went out, else undefined. */
  claim(): EarlyResponse | undefined {
    this.#claimed = true;
    return this.#early;
  }

  /** Ends an early response with a refusal, in the adapter's framing. */
  refuse(early: EarlyResponse, err: Parameters<EarlyResponse['refusal']>[0]): void {
    const bytes = early.refusal(err);
    if (!this.#res.destroyed && !this.#res.writableEnded) this.#res.end(bytes);
  }
}
