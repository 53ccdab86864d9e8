import type { AuditEvent } from '@agentgate/events';
import { buildRefusalEvent } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import { PROXY_ERRORS, type ProxyErrorCode } from '../errors.js';

/** Where refusal events go: the recorder's fire-and-forget path (a refusal never waits for, nor fails on, its record). */
export interface RefusalSink {
  recordLater(event: AuditEvent): void;
}

export interface RefusalLogOptions {
  /** One event per source and reason per window. */
  windowMs: number;
  /** Distinct sources counted one by one per window; beyond it they are counted together (no `source.ip`). */
  maxSources: number;
  observerName?: string;
  /** Clock, injectable for tests. */
  now?: () => number;
}

/** One refusal before authentication. */
export interface Refusal {
  /** The client's address (socket), undefined when the socket is already gone. */
  ip: string | undefined;
  code: ProxyErrorCode;
  /** A code from a fixed vocabulary that says more (identity's `ERR_TOKEN_EXPIRED`, the parser's `HPE_INVALID_METHOD`); anything else is dropped. */
  detail?: string | undefined;
  /** The connection the request named, when it exists. */
  connection?: string | undefined;
}

interface Bucket {
  ip: string | undefined;
  code: ProxyErrorCode;
  detail: string | undefined;
  count: number;
  first: number;
  last: number;
  /** The connection all counted requests named; null once they differ. */
  connection: string | null | undefined;
  overflow: boolean;
}

// Only identifiers pass as a detail: it is part of the aggregation key and of event.reason, never free text from a request.
const DETAIL = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * Records requests refused before authentication (bad or missing tokens,
 * parser errors, malformed targets, unknown connections) as `refused` audit
 * events, so a SOC sees a token-guessing run or a scan. A flood must not be
 * able to fill the audit stream, so refusals are aggregated: one event per
 * source address, code and detail per window, carrying the count and the
 * first/last time. At most `maxSources` buckets are kept per window (bounded
 * memory); refusals beyond that are counted in one overflow bucket per code.
 * `note` never throws and never waits: the refusal is answered regardless.
 */
export class RefusalLog {
  readonly #sink: RefusalSink;
  readonly #opts: RefusalLogOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #buckets = new Map<string, Bucket>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(sink: RefusalSink, opts: RefusalLogOptions, log: Logger) {
    this.#sink = sink;
    this.#opts = opts;
    this.#log = log;
    this.#now = opts.now ?? Date.now;
  }

  /** Counts one refusal (and starts the window when it is the first). */
  note(r: Refusal): void {
    try {
      if (this.#closed) return;
      const detail = r.detail !== undefined && DETAIL.test(r.detail) ? r.detail : undefined;
      const ip = typeof r.ip === 'string' && r.ip.length > 0 && r.ip.length <= 64 ? r.ip : undefined;
      const now = this.#now();
      let key = `${ip ?? '-'}\u0000${r.code}\u0000${detail ?? ''}`;
      let bucket = this.#buckets.get(key);
      if (!bucket) {
        const full = this.#buckets.size >= this.#opts.maxSources;
        if (full) {
          key = `\u0000overflow\u0000${r.code}\u0000${detail ?? ''}`;
          bucket = this.#buckets.get(key);
        }
        if (!bucket) {
          bucket = { ip: full ? undefined : ip, code: r.code, detail, count: 0, first: now, last: now, connection: r.connection, overflow: full };
          this.#buckets.set(key, bucket);
        }
      }
      bucket.count++;
      bucket.last = now;
      if (bucket.connection !== r.connection) bucket.connection = null;
      this.#timer ??= setTimeout(() => this.flush(), this.#opts.windowMs).unref();
    } catch (err) {
      this.#log.error({ err }, 'refusal not counted');
    }
  }

  /** Emits one event per bucket of the current window and starts a new window. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const buckets = [...this.#buckets.values()];
    this.#buckets = new Map();
    for (const b of buckets) {
      try {
        this.#sink.recordLater(eventOf(b, this.#opts.observerName, this.#now()));
      } catch (err) {
        this.#log.error({ err, code: b.code }, 'refusal event not built');
      }
    }
    if (buckets.length > 0) {
      const total = buckets.reduce((n, b) => n + b.count, 0);
      this.#log.info({ events: buckets.length, refusals: total }, 'refusals before authentication recorded');
    }
  }

  /** Buckets in the current window (for tests and stats). */
  size(): number {
    return this.#buckets.size;
  }

  /** Flushes what is counted and stops counting (shutdown: before the recorder settles). */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}

function eventOf(b: Bucket, observerName: string | undefined, now: number): AuditEvent {
  const text = PROXY_ERRORS[b.code].text;
  const reason = `refused before authentication: ${text}${b.detail ? ` (${b.detail})` : ''}`;
  return buildRefusalEvent({
    code: b.code,
    reason,
    count: b.count,
    first: new Date(b.first),
    last: new Date(b.last),
    ...(b.ip !== undefined && { source: { ip: b.ip } }),
    ...(typeof b.connection === 'string' && { connection: b.connection }),
    ...(observerName !== undefined && { observerName }),
    ...(b.detail !== undefined && { labels: { refusal_detail: b.detail } }),
    ...(b.overflow && { labels: { refusal_overflow: true, ...(b.detail !== undefined && { refusal_detail: b.detail }) } }),
    now: new Date(now),
  });
}
