import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * Verified-token cache over `lru-cache` (the house's one cache: the proxy's
 * principal and lease caches use it too). The key is the SHA-256 of the
 * token, so the cache never holds a usable credential. An entry lives until
 * min(token exp, now + ttl); the size is bounded and the least recently used
 * entry goes first.
 */
export class TokenCache<V extends {}> {
  readonly #lru: LRUCache<string, V> | undefined;
  readonly #ttlMs: number;
  readonly #now: () => number;
  hits = 0;
  misses = 0;

  constructor(maxEntries: number, ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
    // ttlResolution 0: expiry is read from the clock on every get (an injected clock in tests, exact expiry at exp).
    this.#lru = maxEntries > 0 ? new LRUCache<string, V>({ max: maxEntries, perf: { now }, ttlResolution: 0 }) : undefined;
  }

  static key(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  get(key: string): V | undefined {
    const v = this.#lru?.get(key);
    if (v === undefined) this.misses += 1;
    else this.hits += 1;
    return v;
  }

  /** Stores until min(expMs, now + ttl); a value already expired is not stored. */
  set(key: string, value: V, expMs: number): void {
    // lru-cache drops an entry once its age passes the TTL; the expiry is exclusive here (gone at exp), hence one ms less.
    const ttl = Math.min(expMs - this.#now(), this.#ttlMs) - 1;
    // A TTL of 0 means "forever" to lru-cache: a value (all but) expired is not stored.
    if (ttl > 0) this.#lru?.set(key, value, { ttl });
  }

  get size(): number {
    return this.#lru?.size ?? 0;
  }

  clear(): void {
    this.#lru?.clear();
  }
}
