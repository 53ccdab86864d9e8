import { Transform, type TransformCallback } from 'node:stream';
import type { EffectObserver } from '../types.js';
import { readPkt } from './pkt-line.js';
import { oneLine } from './render.js';

/** What the upstream's receive-pack said about a push. */
export interface PushReport {
  /** `ok`, or why the upstream could not unpack; undefined when no report was read. */
  unpack: string | undefined;
  updated: number;
  rejected: Array<{ ref: string; reason: string }>;
  /** A band-3 message: the upstream died. */
  fatal: string | undefined;
  /** True once the report's flush was read. */
  complete: boolean;
}

const MAX_REJECTED = 20;

/** Reads pkt-lines from a byte stream one at a time; holds at most one partial packet. */
class PktReader {
  #buf: Buffer = Buffer.alloc(0);
  broken = false;

  *feed(chunk: Buffer): Generator<{ type: string; payload?: Buffer }> {
    if (this.broken) return;
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let at = 0;
    try {
      for (let p = readPkt(this.#buf, at); p; p = readPkt(this.#buf, at)) {
        at += p.size;
        yield p.type === 'data' ? { type: 'data', payload: p.payload } : { type: p.type };
      }
    } catch {
      // Not pkt-lines (or masked into something else): the report is unreadable, never guessed at.
      this.broken = true;
      this.#buf = Buffer.alloc(0);
      return;
    }
    this.#buf = Buffer.from(this.#buf.subarray(at));
  }
}

/**
 * Reads the upstream's receive-pack result as it streams past (side-band
 * demultiplexed when the client asked for it): `unpack <status>`, `ok
 * <ref>` / `ng <ref> <reason>` per ref (report-status v1 and v2), or a
 * band-3 error. Bytes pass through untouched; memory stays bounded.
 */
export class PushReportObserver implements EffectObserver {
  readonly transform: Transform;
  readonly #report: PushReport = { unpack: undefined, updated: 0, rejected: [], fatal: undefined, complete: false };
  readonly #outer = new PktReader();
  readonly #inner = new PktReader();
  readonly #banded: boolean;

  constructor(capabilities: readonly string[]) {
    this.#banded = capabilities.includes('side-band-64k') || capabilities.includes('side-band');
    this.transform = new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) => {
        this.#read(chunk);
        cb(null, chunk);
      },
    });
  }

  get report(): PushReport {
    return this.#report;
  }

  #read(chunk: Buffer): void {
    for (const p of this.#outer.feed(chunk)) {
      if (!this.#banded) {
        this.#line(p);
        continue;
      }
      if (p.type !== 'data' || !p.payload || p.payload.length === 0) continue;
      const band = p.payload[0];
      const data = p.payload.subarray(1);
      if (band === 1) for (const q of this.#inner.feed(data)) this.#line(q);
      else if (band === 3) this.#report.fatal ??= oneLine(data.toString('utf8'), 300);
    }
  }

  #line(p: { type: string; payload?: Buffer }): void {
    const r = this.#report;
    if (r.complete) return;
    if (p.type === 'flush') {
      if (r.unpack !== undefined) r.complete = true;
      return;
    }
    if (!p.payload) return;
    const text = p.payload.toString('utf8').replace(/\n$/, '');
    if (text.startsWith('unpack ')) r.unpack = oneLine(text.slice(7), 200);
    else if (text.startsWith('ok ')) r.updated++;
    else if (text.startsWith('ng ')) {
      const rest = text.slice(3);
      const sp = rest.indexOf(' ');
      if (r.rejected.length < MAX_REJECTED)
        r.rejected.push({ ref: oneLine(sp < 0 ? rest : rest.slice(0, sp), 200), reason: oneLine(sp < 0 ? '' : rest.slice(sp + 1), 200) });
    }
    // `option …` lines (report-status-v2) only detail an `ok`.
  }

  finish(): ReturnType<EffectObserver['finish']> {
    const r = this.#report;
    const labels: Record<string, string | number | boolean> = { git_refs_updated: r.updated, git_refs_rejected: r.rejected.length };
    if (r.unpack !== undefined) labels.git_unpack = r.unpack;
    if (r.rejected.length > 0)
      labels.git_rejected = r.rejected
        .map((x) => `${x.ref} (${x.reason})`)
        .join('; ')
        .slice(0, 1000);
    if (r.fatal !== undefined) return { outcome: 'failure', reason: `the upstream failed: ${r.fatal}`, labels };
    if (!r.complete || this.#outer.broken || this.#inner.broken) return { outcome: 'failure', reason: 'the upstream sent no complete push report', labels };
    if (r.unpack !== 'ok') return { outcome: 'failure', reason: `the upstream could not unpack the push: ${r.unpack}`, labels };
    if (r.rejected.length > 0) return { outcome: 'failure', reason: `the upstream refused: ${labels.git_rejected}`, labels };
    return { outcome: 'success', labels };
  }
}
