import { createHash, type Hash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { type FileHandle, mkdtemp, open, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type HeadLimits, type ReceivePackHead, ReceivePackHeadParser } from './receive-pack-head.js';

const CHUNK = 256 * 1024;

/** A receive-pack body on disk, with its parsed head. */
export interface SpooledPush {
  /** Private (0700) directory holding the body and, later, the quarantine. */
  readonly dir: string;
  readonly file: string;
  readonly size: number;
  /** SHA-256 (hex) of the body, computed while it was spooled: what an approval binds. */
  readonly sha256: string;
  readonly head: ReceivePackHead;
  /** Removes the directory (idempotent). */
  cleanup(): Promise<void>;
}

/** A body being spooled: the head is known long before the pack has arrived. */
export interface LiveSpool {
  readonly dir: string;
  /** Resolves once the pkt-line head is parsed. */
  readonly head: Promise<ReceivePackHead>;
  /** Resolves once the whole body is on disk. */
  readonly done: Promise<SpooledPush>;
  /** The body from `start`, read from disk as it is written (never buffered whole). */
  follow(start: number): Readable;
  cleanup(): Promise<void>;
}

/** Writes to the spool file and tells followers how far it got. */
class SpoolWriter extends Writable {
  readonly events = new EventEmitter();
  written = 0;
  finished = false;
  failure: Error | undefined;
  readonly #handle: FileHandle;
  constructor(handle: FileHandle) {
    super({ highWaterMark: CHUNK });
    this.#handle = handle;
    this.events.setMaxListeners(0);
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#handle.write(chunk, 0, chunk.length, this.written).then(
      () => {
        this.written += chunk.length;
        this.events.emit('progress');
        cb();
      },
      (err: Error) => cb(err),
    );
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.#handle.close().then(() => {
      this.finished = true;
      this.events.emit('progress');
      cb();
    }, cb);
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.finished) this.failure = err ?? new Error('spool aborted');
    this.events.emit('progress');
    this.#handle.close().then(
      () => cb(err),
      () => cb(err),
    );
  }
}

/** Reads the spool file behind the writer: waits at the end of what is written until more arrives or the body ends. */
class SpoolFollower extends Readable {
  readonly #writer: SpoolWriter;
  readonly #file: string;
  #pos: number;
  #handle: FileHandle | undefined;
  constructor(writer: SpoolWriter, file: string, start: number) {
    super({ highWaterMark: CHUNK });
    this.#writer = writer;
    this.#file = file;
    this.#pos = start;
  }
  override _read(): void {
    this.#next().catch((err: Error) => this.destroy(err));
  }
  async #next(): Promise<void> {
    this.#handle ??= await open(this.#file, 'r');
    for (;;) {
      const w = this.#writer;
      const avail = w.written - this.#pos;
      if (avail > 0) {
        const buf = Buffer.allocUnsafe(Math.min(avail, CHUNK));
        const { bytesRead } = await this.#handle.read(buf, 0, buf.length, this.#pos);
        this.#pos += bytesRead;
        this.push(buf.subarray(0, bytesRead));
        return;
      }
      if (w.failure) throw w.failure;
      if (w.finished) {
        this.push(null);
        return;
      }
      await once(w.events, 'progress');
    }
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const h = this.#handle;
    this.#handle = undefined;
    if (!h) {
      cb(err);
      return;
    }
    h.close().then(
      () => cb(err),
      () => cb(err),
    );
  }
}

/** Passes every byte through while the parser reads the head. */
class HeadTap extends Transform {
  readonly parser: ReceivePackHeadParser;
  bytes = 0;
  // Digested on the way to disk, so a hold can bind the exact bytes without reading them again.
  readonly hash: Hash = createHash('sha256');
  readonly head: Promise<ReceivePackHead>;
  #resolve!: (h: ReceivePackHead) => void;
  #reject!: (err: Error) => void;
  constructor(limits: HeadLimits) {
    super();
    this.parser = new ReceivePackHeadParser(limits);
    this.head = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Whoever awaits `done` sees the same error.
    this.head.catch(() => {});
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    if (!this.parser.done) {
      try {
        if (this.parser.feed(chunk)) this.#resolve(this.parser.result());
      } catch (err) {
        this.#reject(err as Error);
        cb(err as Error);
        return;
      }
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (!this.parser.done) {
      try {
        this.parser.result();
      } catch (err) {
        this.#reject(err as Error);
        cb(err as Error);
        return;
      }
    }
    cb();
  }
  fail(err: Error): void {
    this.#reject(err);
  }
}

/**
 * Starts streaming a receive-pack body to a temp file (memory stays flat
 * whatever the pack size) while parsing its pkt-line head. The file is
 * created with mode 0600 in a fresh 0700 directory: pushed code is the
 * customer's.
 */
export async function startSpool(body: Readable, limits: HeadLimits, tmpRoot = tmpdir()): Promise<LiveSpool> {
  const dir = await mkdtemp(join(tmpRoot, 'agentgate-push-'));
  const file = join(dir, 'body');
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  let handle: FileHandle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const tap = new HeadTap(limits);
  const writer = new SpoolWriter(handle);
  const done = pipeline(body, tap, writer).then(
    async () => ({ dir, file, size: tap.bytes, sha256: tap.hash.digest('hex'), head: await tap.head, cleanup }),
    (err: Error) => {
      tap.fail(err);
      writer.destroy(err);
      throw err;
    },
  );
  done.catch(() => {});
  return { dir, head: tap.head, done, follow: (start) => new SpoolFollower(writer, file, start), cleanup };
}

/**
 * Opens the spooled body for forwarding and unlinks it at once: the open
 * descriptor keeps the bytes readable, and the disk space comes back when
 * the stream closes, even if the request dies half way. The rest of the
 * spool directory (the quarantined objects) is removed with the body file
 * unless `keepDir`: then it goes when the stream closes, so a held push can
 * still show the approver its commits.
 */
export async function openSpooled(push: SpooledPush, keepDir = false): Promise<Readable> {
  const handle = await open(push.file, 'r');
  if (keepDir) await unlink(push.file);
  else await push.cleanup();
  const stream = handle.createReadStream({ autoClose: true, highWaterMark: CHUNK });
  if (keepDir) stream.once('close', () => void push.cleanup().catch(() => {}));
  return stream;
}
