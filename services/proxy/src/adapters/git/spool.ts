import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type HeadLimits, type ReceivePackHead, ReceivePackHeadParser } from './receive-pack-head.js';

/** A receive-pack body on disk, with its parsed head. */
export interface SpooledPush {
  /** Private (0700) directory holding the body and, later, the quarantine. */
  readonly dir: string;
  readonly file: string;
  readonly size: number;
  readonly head: ReceivePackHead;
  /** Removes the directory (idempotent). */
  cleanup(): Promise<void>;
}

/** Passes every byte through while the parser reads the head. */
class HeadTap extends Transform {
  readonly parser: ReceivePackHeadParser;
  bytes = 0;
  constructor(limits: HeadLimits) {
    super();
    this.parser = new ReceivePackHeadParser(limits);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    try {
      if (!this.parser.done) this.parser.feed(chunk);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb(null, chunk);
  }
}

/**
 * Streams a receive-pack body to a temp file (memory stays flat whatever
 * the pack size) while parsing its pkt-line head. The file is created with
 * mode 0600 in a fresh 0700 directory: pushed code is the customer's.
 */
export async function spoolReceivePack(body: Readable, limits: HeadLimits, tmpRoot = tmpdir()): Promise<SpooledPush> {
  const dir = await mkdtemp(join(tmpRoot, 'agentgate-push-'));
  const file = join(dir, 'body');
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const tap = new HeadTap(limits);
  try {
    await pipeline(body, tap, createWriteStream(file, { mode: 0o600, flags: 'wx' }));
    return { dir, file, size: tap.bytes, head: tap.parser.result(), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Opens the spooled body for forwarding and unlinks it at once: the open
 * descriptor keeps the bytes readable, and the disk space comes back when
 * the stream closes, even if the request dies half way.
 */
export async function openSpooled(push: SpooledPush): Promise<Readable> {
  const handle = await open(push.file, 'r');
  await push.cleanup();
  return handle.createReadStream({ autoClose: true, highWaterMark: 256 * 1024 });
}
