import { closeSync, existsSync, fsyncSync, readFileSync, readdirSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openPrivate, privateDir, syncDir, tightenFile, writePrivateAtomic } from '../lib/private-fs.js';
import type { Headers, StreamConfig } from '../types.js';

/** One stored message of an in-process stream. */
export interface StoredMsg {
  seq: number;
  ts: number;
  subject: string;
  msgId: string | undefined;
  headers: Headers;
  data: Uint8Array;
}

interface Line {
  seq: number;
  ts: number;
  s: string;
  id?: string;
  h?: Headers;
  d: string;
}

function toLine(m: StoredMsg): string {
  const line: Line = { seq: m.seq, ts: m.ts, s: m.subject, d: Buffer.from(m.data).toString('base64') };
  if (m.msgId !== undefined) line.id = m.msgId;
  if (Object.keys(m.headers).length > 0) line.h = m.headers;
  return `${JSON.stringify(line)}\n`;
}

/** Reads whole lines of `text`; returns them and the byte length of the good prefix (a torn last line is not in it). */
function lines(text: string): { lines: string[]; goodBytes: number } {
  const out: string[] = [];
  let pos = 0;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) break;
    out.push(text.slice(pos, nl));
    pos = nl + 1;
  }
  return { lines: out, goodBytes: Buffer.byteLength(text.slice(0, pos)) };
}

/** What a stream directory holds after a restart. */
export interface LoadedStream {
  msgs: StoredMsg[];
  /** Highest sequence ever assigned (survives removal of every message). */
  lastSeq: number;
}

/**
 * The files of one in-process stream, all owner-only (they hold unmasked audit data):
 * - `messages.jsonl`: append-only, one JSON line per stored message; a process that dies mid-write leaves a
 *   torn last line, cut off on load (that publish was never acked);
 * - `removed.log`: sequences removed since the last compaction (work-queue acks);
 * - `state.json`: the last sequence assigned, so numbering continues when every message is gone;
 * - `config.json`, and `consumers/` (see AckFile).
 * Compaction rewrites `messages.jsonl` with the live messages only (temp file, fsync, rename).
 */
export class StreamFile {
  readonly dir: string;
  #fd: number | undefined;
  #removedFd: number | undefined;
  #fsync: boolean;

  constructor(root: string | undefined, name: string, fsync: boolean) {
    this.#fsync = fsync;
    this.dir = root ? join(root, 'streams', name) : '';
    if (root) {
      privateDir(join(root, 'streams'));
      privateDir(this.dir);
      privateDir(join(this.dir, 'consumers'));
      for (const f of ['messages.jsonl', 'removed.log', 'state.json', 'config.json']) tightenFile(join(this.dir, f));
    }
  }

  get persistent(): boolean {
    return this.dir !== '';
  }

  #path(file: string): string {
    return join(this.dir, file);
  }

  load(): LoadedStream {
    if (!this.persistent) return { msgs: [], lastSeq: 0 };
    let lastSeq = 0;
    const state = this.#path('state.json');
    if (existsSync(state)) lastSeq = (JSON.parse(readFileSync(state, 'utf8')) as { lastSeq: number }).lastSeq;
    const removed = new Set<number>();
    const removedPath = this.#path('removed.log');
    if (existsSync(removedPath)) for (const l of lines(readFileSync(removedPath, 'utf8')).lines) if (/^\d+$/.test(l)) removed.add(Number(l));
    const path = this.#path('messages.jsonl');
    if (!existsSync(path)) return { msgs: [], lastSeq };
    const text = readFileSync(path, 'utf8');
    const { lines: all } = lines(text);
    const msgs: StoredMsg[] = [];
    let good = 0;
    for (const line of all) {
      let l: Line;
      try {
        l = JSON.parse(line) as Line;
      } catch {
        break;
      }
      good += Buffer.byteLength(line) + 1;
      lastSeq = Math.max(lastSeq, l.seq);
      if (removed.has(l.seq)) continue;
      msgs.push({ seq: l.seq, ts: l.ts, subject: l.s, msgId: l.id, headers: l.h ?? {}, data: Buffer.from(l.d, 'base64') });
    }
    if (good < Buffer.byteLength(text)) truncateSync(path, good);
    return { msgs, lastSeq };
  }

  append(m: StoredMsg): void {
    if (!this.persistent) return;
    this.#fd ??= openPrivate(this.#path('messages.jsonl'), 'a');
    // One write per message: the kernel has it once writeSync returns, so a process crash loses nothing acked.
    writeSync(this.#fd, toLine(m));
    if (this.#fsync) fsyncSync(this.#fd);
  }

  /** Records that a message left the stream (acked on a work queue). */
  remove(seq: number): void {
    if (!this.persistent) return;
    this.#removedFd ??= openPrivate(this.#path('removed.log'), 'a');
    writeSync(this.#removedFd, `${seq}\n`);
    if (this.#fsync) fsyncSync(this.#removedFd);
  }

  /** Rewrites the message file with `live` only; `lastSeq` is kept so sequence numbers never repeat. */
  compact(live: Iterable<StoredMsg>, lastSeq: number): void {
    if (!this.persistent) return;
    this.#closeFds();
    writePrivateAtomic(this.#path('state.json'), JSON.stringify({ lastSeq }));
    const path = this.#path('messages.jsonl');
    const tmp = `${path}.tmp`;
    const fd = openPrivate(tmp, 'w');
    try {
      let buf = '';
      for (const m of live) {
        buf += toLine(m);
        if (buf.length >= 1 << 20) {
          writeSync(fd, buf);
          buf = '';
        }
      }
      if (buf) writeSync(fd, buf);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    syncDir(this.dir);
    // Only now: until the rename, the removals are still needed to read the old file right.
    const removed = this.#path('removed.log');
    if (existsSync(removed)) truncateSync(removed, 0);
  }

  /** Forgets every consumer's state (the stream is recreated: like JetStream, its consumers go with it). */
  dropConsumers(): void {
    if (!this.persistent) return;
    const dir = join(this.dir, 'consumers');
    for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true });
  }

  writeConfig(config: StreamConfig): void {
    if (this.persistent) writePrivateAtomic(this.#path('config.json'), JSON.stringify(config));
  }

  /** Durable consumers saved in this stream's directory: name → saved config with its start sequence. */
  savedConsumers(): Array<{ durable: string; startSeq: number } & Record<string, unknown>> {
    if (!this.persistent) return [];
    const dir = join(this.dir, 'consumers');
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { durable: string; startSeq: number });
  }

  close(): void {
    this.#closeFds();
  }

  #closeFds(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    if (this.#removedFd !== undefined) closeSync(this.#removedFd);
    this.#fd = undefined;
    this.#removedFd = undefined;
  }
}

/**
 * Ack log of one durable consumer: `floor:<n>` (everything up to n acked) and acked sequences above it,
 * one per line. Append-only, rewritten compactly from time to time so it does not grow with the traffic.
 */
export class AckFile {
  #path: string;
  #fd: number | undefined;
  #appended = 0;

  constructor(streamDir: string, consumer: string) {
    this.#path = streamDir ? join(streamDir, 'consumers', `${consumer}.acks`) : '';
    if (this.#path) tightenFile(this.#path);
  }

  load(): { floor: number; acked: number[] } {
    if (!this.#path || !existsSync(this.#path)) return { floor: 0, acked: [] };
    let floor = 0;
    const acked: number[] = [];
    for (const l of readFileSync(this.#path, 'utf8').split('\n')) {
      if (/^\d+$/.test(l)) acked.push(Number(l));
      else if (/^floor:\d+$/.test(l)) floor = Math.max(floor, Number(l.slice(6)));
    }
    return { floor, acked };
  }

  append(seq: number): void {
    if (!this.#path) return;
    this.#fd ??= openPrivate(this.#path, 'a');
    writeSync(this.#fd, `${seq}\n`);
    this.#appended++;
  }

  /** Lines appended since the last rewrite. */
  get appended(): number {
    return this.#appended;
  }

  /** Replaces the log by its compact form (atomic). */
  rewrite(floor: number, acked: Iterable<number>): void {
    if (!this.#path) return;
    this.close();
    writePrivateAtomic(this.#path, `floor:${floor}\n${[...acked].map((s) => `${s}\n`).join('')}`);
    this.#appended = 0;
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
