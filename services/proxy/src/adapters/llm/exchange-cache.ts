import type { Bus, KvWatch } from '@agentgate/bus';
import { EXCHANGE_BUCKET, type ExchangeStore, type ExchangeStoreOptions, type StoredExchange, kvExchangeStore, sessionKey } from './exchange-store.js';

/**
 * The KV exchange store with a local copy kept current by a watch on the
 * bucket, so the correlate step (which runs on every non-llm request) reads
 * memory instead of doing a bus round trip. Until the watch is live, or after
 * it ends, reads go to the bucket. Writes always go to the bucket (with
 * compare-and-set); the watch brings every replica's writes back, ours included.
 */
export function cachedExchangeStore(bus: Bus, opts: ExchangeStoreOptions = {}): ExchangeStore & { close(): Promise<void> } {
  const base = kvExchangeStore(bus, opts);
  const ttlMs = opts.ttlMs ?? 24 * 3600_000;
  const cache = new Map<string, { list: StoredExchange[]; seen: number }>();
  let watch: KvWatch | undefined;
  let live = false;
  let closed = false;

  const start = async (): Promise<void> => {
    try {
      const kv = await bus.kv(EXCHANGE_BUCKET, { history: 1, ttlMs });
      watch = await kv.watch(
        '>',
        (e) => {
          if (e.operation !== 'PUT') {
            cache.delete(e.key);
            return;
          }
          try {
            const list = e.json<StoredExchange[]>();
            cache.set(e.key, { list: Array.isArray(list) ? list : [], seen: Date.now() });
          } catch {
            cache.delete(e.key);
          }
        },
        { includeCurrent: true },
      );
      if (closed) await watch.stop();
      else live = true;
    } catch {
      // no watch: every read goes to the bucket, correlation still works, only slower
      live = false;
    }
  };
  void start();
  // The bucket forgets idle sessions by age (no delete event): forget them locally too.
  const prune = setInterval(() => {
    const cutoff = Date.now() - ttlMs;
    for (const [k, v] of cache) if (v.seen < cutoff) cache.delete(k);
  }, 60_000);
  prune.unref();

  return {
    async add(sessionId, exchange) {
      await base.add(sessionId, exchange);
      // Our own replica must see its exchange at once (the agent's next action can come before the watch echo).
      cache.set(sessionKey(sessionId), { list: await base.recent(sessionId), seen: Date.now() });
    },
    async recent(sessionId) {
      if (!live || bus.status() !== 'connected') return base.recent(sessionId);
      return [...(cache.get(sessionKey(sessionId))?.list ?? [])];
    },
    async close() {
      closed = true;
      live = false;
      clearInterval(prune);
      await watch?.stop();
    },
  };
}
