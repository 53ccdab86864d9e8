import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Headers } from '../types.js';

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

/**
 * Append-only JSON-lines file backing a stream. A process that dies mid-write
 * leaves a torn last line; it is cut off on load (the publish was never acked).
 */
export class StreamFile {
  readonly path: string;
  #fd: number | undefined;
  #fsync: boolean;

  constructor(dir: string | undefined, name: string, fsync: boolean) {
    this.#fsync = fsync;
    this.path = dir ? join(dir, 'streams', name, 'messages.jsonl') : '';
    if (dir) mkdirSync(join(dir, 'streams', name, 'consumers'), { recursive: true });
  }

  get persistent(): boolean {
    return this.path !== '';
  }

  load(): StoredMsg[] {
    if (!this.persistent || !existsSync(this.path)) return [];
    const text = readFileSync(this.path, 'utf8');
    const out: StoredMsg[] = [];
    let good = 0;
    let pos = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) break;
      const line = text.slice(pos, nl);
      try {
        const l = JSON.parse(line) as Line;
        out.push({
          seq: l.seq,
          ts: l.ts,
          subject: l.s,
          msgId: l.id,
          headers: l.h ?? {},
          data: Buffer.from(l.d, 'base64'),
        });
      } catch {
        break;
      }
      pos = nl + 1;
      good = Buffer.byteLength(text.slice(0, pos));
    }
    if (good < Buffer.byteLength(text)) truncateSync(this.path, good);
    return out;
  }

  append(m: StoredMsg): void {
    if (!this.persistent) return;
    if (this.#fd === undefined) this.#fd = openSync(this.path, 'a');
    const line: Line = { seq: m.seq, ts: m.ts, s: m.subject, d: Buffer.from(m.data).toString('base64') };
    if (m.msgId !== undefined) line.id = m.msgId;
    if (Object.keys(m.headers).length > 0) line.h = m.headers;
    // One write per message: the kernel has it once writeSync returns, so a process crash loses nothing acked.
    writeSync(this.#fd, `${JSON.stringify(line)}\n`);
    if (this.#fsync) fsyncSync(this.#fd);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** Append-only ack log of one durable consumer. */
export class AckFile {
  #path: string;
  #fd: number | undefined;

  constructor(dir: string | undefined, stream: string, consumer: string) {
    this.#path = dir ? join(dir, 'streams', stream, 'consumers', `${consumer}.acks`) : '';
  }

  load(): number[] {
    if (!this.#path || !existsSync(this.#path)) return [];
    return readFileSync(this.#path, 'utf8')
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
  }

  append(seq: number): void {
    if (!this.#path) return;
    if (this.#fd === undefined) this.#fd = openSync(this.#path, 'a');
    writeSync(this.#fd, `${seq}\n`);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
