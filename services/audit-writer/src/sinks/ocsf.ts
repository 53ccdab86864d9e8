import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditEvent } from '@agentgate/events';
import { isFiller } from '../lib/filler.js';
import { toOcsf } from '../ocsf/to-ocsf.js';
import type { Sink, SinkDoc, StoredCheckpoint, WriteOutcome } from './types.js';

/**
 * An export sink: every sealed event as one OCSF 1.3 record (to-ocsf.ts) per
 * line of a JSON-lines file, for SIEMs that ingest OCSF. It is write-only
 * (the trail and the verifier read another sink). Idempotent like the others:
 * the record's `metadata.uid` is the event id, ids already in the file are
 * `exists`, so a redelivery neither duplicates a record nor takes a new chain
 * slot. Chain fillers are not events and are not exported.
 */
export class OcsfFileSink implements Sink {
  readonly kind = 'ocsf' as const;
  readonly path: string;
  #ids: Set<string> | undefined;

  constructor(path: string) {
    this.path = path;
  }

  async setup(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
  }

  #known(): Set<string> {
    if (this.#ids) return this.#ids;
    const ids = new Set<string>();
    if (existsSync(this.path)) {
      for (const line of readFileSync(this.path, 'utf8').split('\n')) {
        if (line === '') continue;
        try {
          const uid = (JSON.parse(line) as { metadata?: { uid?: unknown } }).metadata?.uid;
          if (typeof uid === 'string') ids.add(uid);
        } catch {
          // A torn last line (crash mid-append): its event is written again.
        }
      }
    }
    this.#ids = ids;
    return ids;
  }

  async write(docs: SinkDoc[]): Promise<WriteOutcome[]> {
    const ids = this.#known();
    let text = '';
    const added: string[] = [];
    const out = docs.map((d): WriteOutcome => {
      if (isFiller(d.doc)) return { status: 'created' };
      if (ids.has(d.id) || added.includes(d.id)) return { status: 'exists' };
      text += `${JSON.stringify(toOcsf(d.doc as unknown as AuditEvent))}\n`;
      added.push(d.id);
      return { status: 'created' };
    });
    if (text !== '') {
      const fh = await open(this.path, 'a', 0o600);
      try {
        await fh.appendFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    for (const id of added) ids.add(id);
    return out;
  }

  async existing(ids: string[]): Promise<Set<string>> {
    const known = this.#known();
    return new Set(ids.filter((id) => known.has(id)));
  }

  async writeCheckpoint(_cp: StoredCheckpoint): Promise<void> {}

  async readCheckpoints(): Promise<StoredCheckpoint[]> {
    return [];
  }

  // biome-ignore lint/correctness/useYield: an export sink holds no chain to read back
  async *readChain(): AsyncIterable<{ id: string; doc: AuditEvent }> {}

  async partitions(): Promise<string[]> {
    return [];
  }

  async countDocuments(): Promise<number | undefined> {
    return undefined;
  }

  async readTrail(): Promise<AuditEvent[]> {
    return [];
  }

  async close(): Promise<void> {}
}
