import type { Bus, KvEntry, KvWatch } from '@agentgate/bus';
import { LRUCache } from 'lru-cache';
import { EXCHANGE_BUCKET, type ExchangeStore, type ExchangeStoreOptions, type StoredExchange, kvExchangeStore, sessionKey } from './exchange-store.js';

/** Options of the cached store: the bucket's, plus the bound of the local copy. */
export interface CachedExchangeStoreOptions extends ExchangeStoreOptions {
  /** Sessions kept in memory (least recently used dropped first; a dropped one is read from the bucket again). */
  maxSessions?: number;
}

const DEFAULT_TTL_MS = 24 * 3600_000;
const DEFAULT_MAX_SESSIONS = 10_000;
const PRUNE_MS = 60_000;
const NONE: readonly StoredExchange[] = Object.freeze([]);

/**
 * The KV exchange store with a local copy kept current by a watch on the
 * bucket, so the correlate step (which runs on every non-llm request) reads
 * memory instead of doing a bus round trip. Until the watch is live, or after
 * it ends, reads go to the bucket. Writes always go to the bucket (with
 * compare-and-set); the watch brings every replica's writes back, ours included.
 *
 * The copy is an LRU cache (`lru-cache`) bounded by `maxSessions`, whose
 * entries expire `ttlMs` after their last write, as the bucket forgets an idle
 * session by age (without a delete event). Once a session has been dropped
 * for room, a miss no longer proves that a session has no exchanges: from
 * then on misses are read from the bucket.
 */
export class CachedExchangeStore implements ExchangeStore {
  readonly #base: ExchangeStore;
  readonly #bus: Bus;
  readonly #cache: LRUCache<string, StoredExchange[]>;
  readonly #prune: NodeJS.Timeout;
  #watch: KvWatch | undefined;
  #live = false;
  #closed = false;
  /** A live session was dropped for room: a miss may be one of those. */
  #evicted = false;

  constructor(bus: Bus, opts: CachedExchangeStoreOptions = {}) {
    this.#bus = bus;
    this.#base = kvExchangeStore(bus, opts);
    const ttl = opts.ttlMs ?? DEFAULT_TTL_MS;
    this.#cache = new LRUCache({
      max: opts.maxSessions ?? DEFAULT_MAX_SESSIONS,
      ttl,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.#evicted = true;
      },
    });
    // Expired entries are dropped when read; this drops those nobody reads again.
    this.#prune = setInterval(() => this.#cache.purgeStale(), PRUNE_MS);
    this.#prune.unref();
    void this.#start(ttl);
  }

  /** True once the watch feeds the local copy (reads are served from memory). */
  get live(): boolean {
    return this.#live;
  }

  async #start(ttlMs: number): Promise<void> {
    try {
      const kv = await this.#bus.kv(EXCHANGE_BUCKET, { history: 1, ttlMs });
      this.#watch = await kv.watch('>', (e) => this.#apply(e), { includeCurrent: true });
      if (this.#closed) await this.#watch.stop();
      else this.#live = true;
    } catch {
      // no watch: every read goes to the bucket, correlation still works, only slower
      this.#live = false;
    }
  }

  /** One change of the bucket, from any replica. */
  #apply(e: KvEntry): void {
    if (e.operation !== 'PUT') {
      this.#cache.delete(e.key);
      return;
    }
    try {
      const list = e.json<StoredExchange[]>();
      this.#cache.set(e.key, Array.isArray(list) ? list : []);
    } catch {
      this.#cache.delete(e.key);
    }
  }

  async add(sessionId: string, exchange: StoredExchange): Promise<void> {
    await this.#base.add(sessionId, exchange);
    // Our own replica must see its exchange at once (the agent's next action can come before the watch echo).
    this.#cache.set(sessionKey(sessionId), await this.#base.recent(sessionId));
  }

  async recent(sessionId: string): Promise<StoredExchange[]> {
    const now = this.recentNow(sessionId);
    return now ? [...now] : this.#base.recent(sessionId);
  }

  recentNow(sessionId: string): readonly StoredExchange[] | undefined {
    if (!this.#live || this.#bus.status() !== 'connected') return undefined;
    const list = this.#cache.get(sessionKey(sessionId));
    if (list) return list;
    return this.#evicted ? undefined : NONE;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#live = false;
    clearInterval(this.#prune);
    await this.#watch?.stop();
  }
}

/** The cached exchange store (see {@link CachedExchangeStore}). */
export function cachedExchangeStore(bus: Bus, opts: CachedExchangeStoreOptions = {}): ExchangeStore & { close(): Promise<void> } {
  return new CachedExchangeStore(bus, opts);
}
