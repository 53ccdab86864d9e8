import { hash } from 'node:crypto';
import { type Bus, BusError, type Kv } from '@agentgate/bus';
import type { ToolCall } from './accumulate.js';

/** The correlation bucket: one key per session, the session's latest exchanges. */
export const EXCHANGE_BUCKET = 'llm-exchanges';

/** One finished exchange as correlation needs it (tool call arguments are masked before they are stored). */
export interface StoredExchange {
  /** Action id of the exchange's audit events. */
  id: string;
  /** ms since epoch when the exchange ended. */
  at: number;
  toolCalls: ToolCall[];
}

/** A session's recent exchanges, shared by every proxy replica. */
export interface ExchangeStore {
  add(sessionId: string, exchange: StoredExchange): Promise<void>;
  /** Exchanges of the session, oldest first. */
  recent(sessionId: string): Promise<StoredExchange[]>;
  /**
   * The same from memory when a local copy can answer without waiting (a store kept current by a watch),
   * else undefined (then `recent`). The correlate step runs on every request: this spares it a timer and a race.
   */
  recentNow?(sessionId: string): readonly StoredExchange[] | undefined;
}

export interface ExchangeStoreOptions {
  /** Exchanges kept per session (oldest dropped first). */
  maxPerSession?: number;
  /** Sessions are forgotten after this long without an exchange. */
  ttlMs?: number;
  /** Arguments kept per tool call (characters). */
  maxArgumentChars?: number;
}

// Session keys by session id: every request of a session looks its exchanges up (a hash each time otherwise).
const sessionKeys = new Map<string, string>();

/** KV keys allow `[-/_=.A-Za-z0-9]`; session ids are free text, so the key is their hash. */
export function sessionKey(sessionId: string): string {
  let key = sessionKeys.get(sessionId);
  if (key === undefined) {
    key = hash('sha256', sessionId, 'hex');
    // A handful of live sessions per proxy: bounded, cleared when full (the bound only guards against a misuse).
    if (sessionKeys.size >= 1024) sessionKeys.clear();
    sessionKeys.set(sessionId, key);
  }
  return key;
}

const CAS_RETRIES = 8;

/**
 * Exchange store on a bus KV bucket (NATS KV with several replicas, or the
 * in-process bus). A session's list is updated with compare-and-set, so two
 * replicas recording exchanges of one session at once never lose one.
 */
export function kvExchangeStore(bus: Bus, opts: ExchangeStoreOptions = {}): ExchangeStore {
  const max = opts.maxPerSession ?? 20;
  const maxArgs = opts.maxArgumentChars ?? 8192;
  let kv: Promise<Kv> | undefined;
  // Opened lazily and re-opened after a failure: a bus that is not ready at start-up must not stop the proxy.
  const bucket = (): Promise<Kv> => {
    kv ??= bus.kv(EXCHANGE_BUCKET, { history: 1, ttlMs: opts.ttlMs ?? 24 * 3600_000 }).catch((err: unknown) => {
      kv = undefined;
      throw err;
    });
    return kv;
  };
  const read = async (k: Kv, key: string): Promise<{ list: StoredExchange[]; revision: number | undefined }> => {
    const e = await k.get(key);
    if (!e || e.operation !== 'PUT') return { list: [], revision: e?.revision };
    try {
      const list = e.json<StoredExchange[]>();
      return { list: Array.isArray(list) ? list : [], revision: e.revision };
    } catch {
      return { list: [], revision: e.revision };
    }
  };
  return {
    async add(sessionId, exchange) {
      const k = await bucket();
      const key = sessionKey(sessionId);
      const item: StoredExchange = {
        id: exchange.id,
        at: exchange.at,
        toolCalls: exchange.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments.slice(0, maxArgs) })),
      };
      for (let attempt = 0; ; attempt++) {
        const { list, revision } = await read(k, key);
        const next = JSON.stringify([...list.filter((x) => x.id !== item.id), item].slice(-max));
        try {
          if (revision === undefined) await k.create(key, next);
          else await k.update(key, next, revision);
          return;
        } catch (err) {
          const conflict = err instanceof BusError && (err.code === 'ERR_KV_WRONG_REVISION' || err.code === 'ERR_KV_EXISTS');
          if (!conflict || attempt >= CAS_RETRIES) throw err;
        }
      }
    },
    async recent(sessionId) {
      const k = await bucket();
      return (await read(k, sessionKey(sessionId))).list;
    },
  };
}

/** An in-memory store (tests, and a proxy started without a bus KV). */
export function memoryExchangeStore(maxPerSession = 20): ExchangeStore {
  const m = new Map<string, StoredExchange[]>();
  return {
    async add(sessionId, exchange) {
      const list = (m.get(sessionId) ?? []).filter((x) => x.id !== exchange.id);
      m.set(sessionId, [...list, exchange].slice(-maxPerSession));
    },
    async recent(sessionId) {
      return [...(m.get(sessionId) ?? [])];
    },
  };
}
