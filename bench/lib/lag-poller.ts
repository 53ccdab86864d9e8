/**
 * End-to-end lag, response → searchable: the load generator reports when sampled responses
 * completed; this poller asks OpenSearch every `intervalMs` which of them have their
 * `completed` event searchable, and takes the time of the query that first found one.
 * The figure is an upper bound with the poll interval (200 ms) as resolution (and includes the index's
 * 1 s refresh interval, as a SOC analyst's search would).
 */
import { searchable } from './observe.js';

// The oldest pending samples are asked for first (they turn searchable first): a small query keeps the
// poller's own load on OpenSearch (which it measures) small.
const MAX_PER_QUERY = 50;
/** Samples still unresolved past this are left out of the query (and reported as unresolved). */
const MAX_PENDING = 5_000;

export interface LagFigures {
  samples: number;
  resolved: number;
  p50: number;
  p99: number;
  max: number;
}

export class LagPoller {
  readonly #pending = new Map<string, number>();
  readonly #lags: number[] = [];
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #errors = 0;

  constructor(
    private readonly osUrl: string,
    private readonly intervalMs = 200,
  ) {}

  /** A response that completed at `doneAt` (epoch ms) for trace id `traceId`. */
  add(traceId: string, doneAt: number): void {
    if (this.#pending.size >= MAX_PENDING) {
      this.#dropped++;
      return;
    }
    this.#pending.set(traceId, doneAt);
  }

  get pending(): number {
    return this.#pending.size;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#poll(), this.intervalMs);
  }

  async #poll(): Promise<void> {
    if (this.#busy || this.#pending.size === 0) return;
    this.#busy = true;
    try {
      const ids = [...this.#pending.keys()].slice(0, MAX_PER_QUERY);
      const askedAt = Date.now();
      const found = await searchable(this.osUrl, ids, 'completed');
      for (const id of found) {
        const doneAt = this.#pending.get(id);
        if (doneAt === undefined) continue;
        this.#lags.push(Math.max(0, askedAt - doneAt));
        this.#pending.delete(id);
      }
    } catch {
      this.#errors++;
    } finally {
      this.#busy = false;
    }
  }

  /** Stops polling; what is still pending counts as unresolved. */
  stop(): LagFigures & { unresolved: number; errors: number } {
    clearInterval(this.#timer);
    const sorted = [...this.#lags].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
    return {
      samples: sorted.length + this.#pending.size + this.#dropped,
      resolved: sorted.length,
      unresolved: this.#pending.size + this.#dropped,
      p50: at(50),
      p99: at(99),
      max: sorted.at(-1) ?? Number.NaN,
      errors: this.#errors,
    };
  }
}
