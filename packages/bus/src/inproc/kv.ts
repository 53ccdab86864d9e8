import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BusError } from '../errors.js';
import { bytesToString, decodeJson, toBytes } from '../lib/codec.js';
import { createDir, FILE_MODE, privateDir, tightenFile } from '../lib/private-fs.js';
import { subjectMatches } from '../lib/subject.js';
import type { Kv, KvEntry, KvOptions, KvWatch } from '../types.js';

const KEY_RE = /^[-/_=.a-zA-Z0-9]+$/;

interface Rec {
  key: string;
  value: Uint8Array;
  revision: number;
  operation: 'PUT' | 'DEL';
  ts: number;
}

function entry(r: Rec): KvEntry {
  return {
    key: r.key,
    value: r.value,
    revision: r.revision,
    operation: r.operation,
    json: <T>() => decodeJson<T>(r.value),
    string: () => bytesToString(r.value),
  };
}

/** A key-value bucket with per-bucket revisions, compare-and-set, watch, optional TTL and a JSON-lines log on disk. */
export class InprocKv implements Kv {
  readonly bucket: string;
  #recs = new Map<string, Rec>();
  #rev = 0;
  #ttl: number | undefined;
  #path: string | undefined;
  #watchers = new Set<{ filter: string; cb: (e: KvEntry) => void }>();

  constructor(bucket: string, opts: KvOptions, dataDir: string | undefined) {
    this.bucket = bucket;
    this.#ttl = opts.ttlMs;
    if (dataDir) {
      createDir(dataDir);
      privateDir(join(dataDir, 'kv'));
      this.#path = join(dataDir, 'kv', `${bucket}.jsonl`);
      tightenFile(this.#path);
      if (existsSync(this.#path)) {
        for (const line of readFileSync(this.#path, 'utf8').split('\n')) {
          if (!line) continue;
          try {
            const r = JSON.parse(line) as Omit<Rec, 'value'> & { value: string };
            const rec: Rec = { ...r, value: Buffer.from(r.value, 'base64') };
            this.#recs.set(rec.key, rec);
            this.#rev = Math.max(this.#rev, rec.revision);
          } catch {
            break; // torn last line of a crashed writer: that write was never acknowledged
          }
        }
      }
    }
  }

  async get(key: string): Promise<KvEntry | null> {
    checkKey(key);
    const r = this.#live(key);
    return r && r.operation === 'PUT' ? entry(r) : null;
  }

  async put(key: string, value: Uint8Array | string): Promise<number> {
    checkKey(key);
    return this.#write(key, toBytes(value), 'PUT');
  }

  async create(key: string, value: Uint8Array | string): Promise<number> {
    checkKey(key);
    const r = this.#live(key);
    if (r && r.operation === 'PUT') throw new BusError('ERR_KV_EXISTS', `key "${key}" already exists`);
    return this.#write(key, toBytes(value), 'PUT');
  }

  async update(key: string, value: Uint8Array | string, revision: number): Promise<number> {
    checkKey(key);
    const r = this.#live(key);
    if (!r || r.revision !== revision) {
      throw new BusError('ERR_KV_WRONG_REVISION', `key "${key}" is not at revision ${revision}`);
    }
    return this.#write(key, toBytes(value), 'PUT');
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.#write(key, new Uint8Array(), 'DEL');
  }

  async keys(filter = '>'): Promise<string[]> {
    const out: string[] = [];
    for (const r of this.#recs.values()) {
      if (r.operation === 'PUT' && this.#live(r.key) && subjectMatches(filter, r.key)) out.push(r.key);
    }
    return out;
  }

  async watch(filter: string, cb: (e: KvEntry) => void, opts: { includeCurrent?: boolean } = {}): Promise<KvWatch> {
    const w = { filter, cb };
    if (opts.includeCurrent) {
      for (const r of this.#recs.values()) if (this.#live(r.key) && subjectMatches(filter, r.key)) cb(entry(r));
    }
    this.#watchers.add(w);
    return {
      stop: async () => {
        this.#watchers.delete(w);
      },
    };
  }

  #live(key: string): Rec | undefined {
    const r = this.#recs.get(key);
    if (r && this.#ttl !== undefined && Date.now() - r.ts > this.#ttl) return undefined;
    return r;
  }

  #write(key: string, value: Uint8Array, operation: Rec['operation']): number {
    const rec: Rec = { key, value, revision: ++this.#rev, operation, ts: Date.now() };
    if (this.#path) {
      appendFileSync(this.#path, `${JSON.stringify({ ...rec, value: Buffer.from(value).toString('base64') })}\n`, { mode: FILE_MODE });
    }
    this.#recs.set(key, rec);
    for (const w of this.#watchers) {
      if (subjectMatches(w.filter, key)) {
        const e = entry(rec);
        queueMicrotask(() => w.cb(e));
      }
    }
    return rec.revision;
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || !KEY_RE.test(key) || key.startsWith('.') || key.endsWith('.')) {
    throw new BusError('ERR_KV_BAD_KEY', `invalid key "${String(key)}"`);
  }
}
