import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ProxyError } from '../errors.js';

/** Where and how much a held body may be spooled. */
export interface SpoolOptions {
  /** Largest body accepted; beyond it ERR_APPROVAL_BODY_TOO_LARGE. */
  maxBytes: number;
  /** Bodies up to this size stay in memory; larger ones go to a file. */
  memoryBytes: number;
  /** Directory for spool files (created 0700). */
  dir: string;
  /** How many leading bytes to keep in memory for the approver's preview. */
  headBytes: number;
}

/**
 * A held request's body, read whole before the hold: its SHA-256 and size
 * are what the approver approves, and `take()` gives back exactly those
 * bytes for the forwarder. A file spool is unlinked the moment it is
 * created: the open descriptor keeps the bytes, and nothing is left on disk
 * whatever happens to the request or the process.
 */
export interface SpooledBody {
  readonly sha256: string;
  readonly bytes: number;
  /** The first `headBytes` bytes (the preview is built from them). */
  readonly head: Buffer;
  /** `adapter`: bytes the adapter already holds (and digested), handed over as they are. */
  readonly where: 'memory' | 'file' | 'adapter';
  /** The bytes to forward; callable once (a file is read from offset 0 by a stream that closes it). */
  take(): Buffer | Readable;
  /** Frees the memory or closes the file (idempotent; safe after `take`). */
  close(): Promise<void>;
}

/**
 * A body the adapter already holds exactly and digested itself (a spooled git
 * pack): bound by its digest, never read or copied again, so its size is not
 * limited by `approvals.maxBodyBytes`. `close` destroys the stream unless it
 * was taken.
 */
export function adapterBody(body: Readable | Buffer, digest: { sha256: string; bytes: number }): SpooledBody {
  let taken = false;
  return {
    sha256: digest.sha256,
    bytes: digest.bytes,
    head: Buffer.alloc(0),
    where: 'adapter',
    take() {
      taken = true;
      return body;
    },
    async close() {
      if (!taken && !Buffer.isBuffer(body)) body.destroy();
    },
  };
}

function tooLarge(max: number): ProxyError {
  return new ProxyError('ERR_APPROVAL_BODY_TOO_LARGE', `a request held for approval may carry at most ${max} bytes of body (approvals.maxBodyBytes)`);
}

/**
 * Reads `source` to the end, bounded by `maxBytes`, hashing as it goes.
 * Throws ERR_APPROVAL_BODY_TOO_LARGE past the limit; errors of the source
 * (a client abort, the gateway's own body limit) pass through as they are.
 */
export async function spoolBody(source: Readable | Buffer, opts: SpoolOptions): Promise<SpooledBody> {
  if (Buffer.isBuffer(source)) {
    if (source.length > opts.maxBytes) throw tooLarge(opts.maxBytes);
    return memoryBody(source, createHash('sha256').update(source).digest('hex'), opts.headBytes);
  }
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  let head = Buffer.alloc(0);
  let file: FileHandle | undefined;
  try {
    for await (const raw of source) {
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as string);
      size += chunk.length;
      if (size > opts.maxBytes) throw tooLarge(opts.maxBytes);
      hash.update(chunk);
      if (head.length < opts.headBytes) head = Buffer.concat([head, chunk.subarray(0, opts.headBytes - head.length)]);
      if (!file && size > opts.memoryBytes) {
        file = await openUnlinked(opts.dir);
        for (const c of chunks) await writeAll(file, c);
        chunks.length = 0;
      }
      if (file) await writeAll(file, chunk);
      else chunks.push(chunk);
    }
  } catch (err) {
    await file?.close().catch(() => {});
    throw err;
  }
  const sha256 = hash.digest('hex');
  return file ? fileBody(file, sha256, size, head) : memoryBody(Buffer.concat(chunks), sha256, opts.headBytes);
}

function memoryBody(bytes: Buffer, sha256: string, headBytes: number): SpooledBody {
  let data: Buffer | undefined = bytes;
  return {
    sha256,
    bytes: bytes.length,
    head: bytes.subarray(0, headBytes),
    where: 'memory',
    take() {
      if (!data) throw new Error('spooled body already taken');
      const out = data;
      data = undefined;
      return out;
    },
    async close() {
      data = undefined;
    },
  };
}

function fileBody(handle: FileHandle, sha256: string, bytes: number, head: Buffer): SpooledBody {
  let stream: Readable | undefined;
  let closed = false;
  return {
    sha256,
    bytes,
    head,
    where: 'file',
    take() {
      if (stream || closed) throw new Error('spooled body already taken');
      // Positional reads from 0: the write position of the handle does not matter. The stream closes the handle.
      stream = handle.createReadStream({ start: 0, autoClose: true, highWaterMark: 256 * 1024 });
      return stream;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (stream) stream.destroy();
      else await handle.close().catch(() => {});
    },
  };
}

/** A new 0600 file in `dir` (0700), unlinked at once so that no exit path can leave it behind. */
async function openUnlinked(dir: string): Promise<FileHandle> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `held-${randomBytes(12).toString('hex')}`);
  const handle = await open(path, 'wx+', 0o600);
  try {
    await unlink(path);
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
  return handle;
}

async function writeAll(file: FileHandle, chunk: Buffer): Promise<void> {
  let off = 0;
  while (off < chunk.length) {
    const { bytesWritten } = await file.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
}
