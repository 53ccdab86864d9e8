import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { type AuditEvent, chainOf, upgradeEvent } from '@agentgate/events';
import { isFiller } from '../lib/filler.js';
import { dailyFile } from '../lib/index-names.js';
import { matchesTrailQuery, type ReadChainOptions, type Sink, type SinkDoc, type StoredCheckpoint, type TrailQuery, type WriteOutcome } from './types.js';

const CHECKPOINTS = 'checkpoints.jsonl';

/** One line of the local store. */
interface Line {
  id: string;
  doc: Record<string, unknown>;
}

async function appendSync(file: string, text: string): Promise<void> {
  const fh = await open(file, 'a', 0o600);
  try {
    await fh.write(text);
    // fsync before the writer acks: an acked event must survive a power cut.
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** Reads every line of the store's daily files, in file order (tolerates a torn last line after a crash). */
export function readLocalLines(dir: string): Line[] {
  if (!existsSync(dir)) return [];
  const out: Line[] = [];
  for (const f of readdirSync(dir)
    .filter((n) => n.startsWith('audit-') && n.endsWith('.jsonl'))
    .sort()) {
    for (const text of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (text.trim() === '') continue;
      try {
        out.push(JSON.parse(text) as Line);
      } catch {
        // A torn write of a batch that was never acked: the event is redelivered and written again.
      }
    }
  }
  return out;
}

function bySeq(a: Line, b: Line): number {
  const sa = chainOf(a.doc)?.seq ?? 0;
  const sb = chainOf(b.doc)?.seq ?? 0;
  return sa - sb;
}

/**
 * The local append-only store of the one-process default: JSON-lines files, one per UTC
 * day of the event (`audit-YYYY.MM.DD.jsonl`), appended and fsynced per batch, plus
 * `checkpoints.jsonl`. Ids already written are kept in memory so a redelivery is `exists`.
 */
export class LocalSink implements Sink {
  readonly kind = 'local' as const;
  readonly dir: string;
  #ids: Set<string> | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  async setup(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  #known(): Set<string> {
    this.#ids ??= new Set(readLocalLines(this.dir).map((l) => l.id));
    return this.#ids;
  }

  async write(docs: SinkDoc[]): Promise<WriteOutcome[]> {
    const ids = this.#known();
    const files = new Map<string, string>();
    const out: WriteOutcome[] = [];
    const batchIds = new Set<string>();
    for (const d of docs) {
      if (ids.has(d.id) || batchIds.has(d.id)) {
        out.push({ status: 'exists' });
        continue;
      }
      batchIds.add(d.id);
      const f = dailyFile(d.timestamp);
      files.set(f, (files.get(f) ?? '') + `${JSON.stringify({ id: d.id, doc: d.doc })}\n`);
      out.push({ status: 'created' });
    }
    for (const [f, text] of files) await appendSync(join(this.dir, f), text);
    for (const id of batchIds) ids.add(id);
    return out;
  }

  async existing(ids: string[]): Promise<Set<string>> {
    const known = this.#known();
    return new Set(ids.filter((id) => known.has(id)));
  }

  async storedDocs(ids: string[]): Promise<Map<string, AuditEvent>> {
    const want = new Set(ids);
    const found = new Map<string, AuditEvent>();
    for (const l of readLocalLines(this.dir)) if (want.has(l.id)) found.set(l.id, l.doc as AuditEvent);
    return found;
  }

  async writeCheckpoint(cp: StoredCheckpoint): Promise<void> {
    await appendSync(join(this.dir, CHECKPOINTS), `${JSON.stringify(cp)}\n`);
  }

  async readCheckpoints(partition: string): Promise<StoredCheckpoint[]> {
    return readLocalCheckpoints(join(this.dir, CHECKPOINTS)).filter((c) => c.partition === partition);
  }

  async *readChain(opts: ReadChainOptions): AsyncIterable<{ id: string; doc: AuditEvent }> {
    const lines = readLocalLines(this.dir).filter((l) => (l.doc as AuditEvent).agentgate?.chain?.partition === opts.partition);
    for (const l of lines.sort(bySeq)) yield { id: l.id, doc: l.doc as AuditEvent };
  }

  async readTrail(q: TrailQuery): Promise<AuditEvent[]> {
    return readLocalTrail(this.dir, q);
  }

  async partitions(): Promise<string[]> {
    const names = new Set<string>();
    for (const l of readLocalLines(this.dir)) {
      const p = (l.doc as AuditEvent).agentgate?.chain?.partition;
      if (typeof p === 'string') names.add(p);
    }
    for (const c of readLocalCheckpoints(join(this.dir, CHECKPOINTS))) if (typeof c.partition === 'string') names.add(c.partition);
    return [...names];
  }

  async countDocuments(): Promise<number> {
    return readLocalLines(this.dir).length;
  }

  async close(): Promise<void> {}
}

/** Reads a checkpoints JSON-lines file (missing file → none). */
export function readLocalCheckpoints(file: string): StoredCheckpoint[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((t) => t.trim() !== '')
    .flatMap((t) => {
      try {
        return [JSON.parse(t) as StoredCheckpoint];
      } catch {
        return [];
      }
    });
}

/**
 * Events of the local store (fillers left out), optionally of one session, sorted by
 * `@timestamp` then chain seq — what `agentgate trail` prints.
 */
export function readLocalTrail(path: string, opts: TrailQuery = {}): AuditEvent[] {
  const events = readLocalLines(path)
    // A store kept from before schema version 2 is read in today's layout.
    .map((l) => upgradeEvent(l.doc) as AuditEvent)
    .filter((e) => !isFiller(e) && matchesTrailQuery(e, opts));
  const sorted = events.sort((a, b) => Date.parse(a['@timestamp']) - Date.parse(b['@timestamp']) || (chainOf(a)?.seq ?? 0) - (chainOf(b)?.seq ?? 0));
  return opts.limit !== undefined ? sorted.reverse().slice(0, opts.limit) : sorted;
}
