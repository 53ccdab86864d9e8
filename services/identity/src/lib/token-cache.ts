import { createHash } from 'node:crypto';

interface Entry<V> {
  value: V;
  expiresAt: number;
}

/**
 * Verified-token cache. The key is the SHA-256 of the token, so the cache
 * never holds a usable credential. An entry lives until min(token exp,
 * now + ttl); the size is bounded and the least recently used entry goes first.
 */
export class TokenCache<V> {
  private readonly map = new Map<string, Entry<V>>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  static key(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) {
      this.misses += 1;
      return undefined;
    }
    if (e.expiresAt <= this.now()) {
      this.map.delete(key);
      this.misses += 1;
      return undefined;
    }
    // Re-insert to mark as most recently used (Map keeps insertion order).
    this.map.delete(key);
    this.map.set(key, e);
    this.hits += 1;
    return e.value;
  }

  /** Stores until min(expMs, now + ttl). */
  set(key: string, value: V, expMs: number): void {
    if (this.maxEntries <= 0) return;
    const expiresAt = Math.min(expMs, this.now() + this.ttlMs);
    if (expiresAt <= this.now()) return;
    this.map.delete(key);
    this.map.set(key, { value, expiresAt });
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}
