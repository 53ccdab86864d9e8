import type { NatsConnection } from '@nats-io/transport-node';
import { type KV, type KvEntry as NatsKvEntry, KvWatchInclude, Kvm } from '@nats-io/kv';
import { BusError } from '../errors.js';
import { bytesToString, decodeJson, toBytes } from '../lib/codec.js';
import type { Kv, KvEntry, KvOptions, KvWatch } from '../types.js';
import { mapNatsError } from './errors-map.js';
import { withResponders } from './responders.js';

function entry(e: NatsKvEntry): KvEntry {
  return {
    key: e.key,
    value: e.value,
    revision: e.revision,
    operation: e.operation === 'PUT' ? 'PUT' : 'DEL',
    json: <T>() => decodeJson<T>(e.value),
    string: () => bytesToString(e.value),
  };
}

/**
 * A JetStream KV bucket (file storage), opened or created idempotently.
 * Reads and writes wait out a moment of "no responders" (responders.ts):
 * right after an R3 bucket is created, a get through another node of the
 * cluster can find nobody serving it yet.
 */
export class NatsKv implements Kv {
  readonly bucket: string;
  #kv: KV;

  private constructor(bucket: string, kv: KV) {
    this.bucket = bucket;
    this.#kv = kv;
  }

  static async open(nc: NatsConnection, bucket: string, opts: KvOptions): Promise<NatsKv> {
    try {
      const kv = await new Kvm(nc).create(bucket, {
        history: opts.history ?? 5,
        replicas: opts.replicas ?? 1,
        ...(opts.ttlMs ? { ttl: opts.ttlMs } : {}),
      });
      return new NatsKv(bucket, kv);
    } catch (err) {
      throw mapNatsError(err, `kv bucket ${bucket}`);
    }
  }

  async get(key: string): Promise<KvEntry | null> {
    try {
      const e = await withResponders(() => this.#kv.get(key));
      return e && e.operation === 'PUT' ? entry(e) : null;
    } catch (err) {
      throw mapNatsError(err, `kv get ${key}`);
    }
  }

  async put(key: string, value: Uint8Array | string): Promise<number> {
    try {
      return await withResponders(() => this.#kv.put(key, toBytes(value)));
    } catch (err) {
      throw mapNatsError(err, `kv put ${key}`);
    }
  }

  async create(key: string, value: Uint8Array | string): Promise<number> {
    try {
      return await withResponders(() => this.#kv.create(key, toBytes(value)));
    } catch (err) {
      const mapped = mapNatsError(err, `kv create ${key}`);
      if (mapped.code === 'ERR_KV_WRONG_REVISION') throw new BusError('ERR_KV_EXISTS', `key "${key}" already exists`, { cause: err });
      throw mapped;
    }
  }

  async update(key: string, value: Uint8Array | string, revision: number): Promise<number> {
    try {
      return await withResponders(() => this.#kv.update(key, toBytes(value), revision));
    } catch (err) {
      const mapped = mapNatsError(err, `kv update ${key}`);
      if (mapped.code === 'ERR_STREAM_PUBLISH') throw new BusError('ERR_KV_WRONG_REVISION', `key "${key}" is not at revision ${revision}`, { cause: err });
      throw mapped;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await withResponders(() => this.#kv.delete(key));
    } catch (err) {
      throw mapNatsError(err, `kv delete ${key}`);
    }
  }

  async keys(filter = '>'): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.#kv.keys(filter)) out.push(k);
    return out;
  }

  async watch(filter: string, cb: (e: KvEntry) => void, opts: { includeCurrent?: boolean } = {}): Promise<KvWatch> {
    // 'lastValue' (not a KvWatchInclude value) only worked because the client falls back to LastValue.
    const iter = await this.#kv.watch({ key: filter, include: opts.includeCurrent ? KvWatchInclude.LastValue : KvWatchInclude.UpdatesOnly });
    void (async () => {
      for await (const e of iter) cb(entry(e));
    })();
    return {
      stop: async () => {
        iter.stop();
      },
    };
  }
}
