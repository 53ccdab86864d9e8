import { Readable } from 'node:stream';
import { printable } from './mask.js';

/**
 * What kind of body a response carries, for inspection:
 * - `plain`: masked as bytes (text, JSON, binary the gateway can scan);
 * - `gzip`: a gzip file sent as data (`application/gzip`, `…+gzip`, a
 *   tarball), decoded to be checked and forwarded byte for byte;
 * - `archive`: compressed data the gateway cannot look into (zip, xz, zstd,
 *   bzip2, 7z, rar…): refused or passed per the connection's `uninspectable`;
 * - `sniff`: no type or `application/octet-stream`: decided by the first
 *   bytes ({@link SNIFF_BYTES}).
 */
export type BodyKind = { kind: 'plain' } | { kind: 'gzip' } | { kind: 'archive'; what: string } | { kind: 'sniff' };

const GZIP_TYPES = new Set([
  'application/gzip',
  'application/x-gzip',
  'application/gzipped',
  'application/x-gunzip',
  'application/x-tgz',
  'application/x-compressed-tar',
  'application/tar+gzip',
]);

const ARCHIVE_TYPES = new Set([
  'application/zip',
  'application/x-zip',
  'application/x-zip-compressed',
  'application/java-archive',
  'application/x-java-archive',
  'application/vnd.android.package-archive',
  'application/x-7z-compressed',
  'application/x-rar-compressed',
  'application/x-rar',
  'application/vnd.rar',
  'application/x-bzip',
  'application/x-bzip2',
  'application/x-xz',
  'application/x-lzma',
  'application/x-lzip',
  'application/x-lz4',
  'application/zstd',
  'application/x-zstd',
  'application/x-compress',
  'application/x-compressed',
  'application/x-apple-diskimage',
]);

/** Structured-syntax suffixes of compressed media types (RFC 6839 style, as registries use them). */
const ARCHIVE_SUFFIXES = ['+zip', '+zstd', '+xz', '+bzip2', '+lz4'];
/** Office and OpenDocument files are zip archives. */
const ARCHIVE_PREFIXES = [
  'application/vnd.openxmlformats-officedocument.',
  'application/vnd.oasis.opendocument.',
  'application/vnd.ms-excel.sheet.macroenabled',
];

/** Bytes a sniff needs (the longest magic number below). */
export const SNIFF_BYTES = 10;

/** The media type of a Content-Type value, lowercased without parameters ('' when absent). */
export function mediaType(value: string | string[] | undefined): string {
  const v = Array.isArray(value) ? value[0] : value;
  return (v ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The kind of body a Content-Type announces. */
export function bodyKindOf(contentType: string | string[] | undefined): BodyKind {
  const t = mediaType(contentType);
  if (t === '' || t === 'application/octet-stream' || t === 'binary/octet-stream') return { kind: 'sniff' };
  if (GZIP_TYPES.has(t) || t.endsWith('+gzip')) return { kind: 'gzip' };
  if (ARCHIVE_TYPES.has(t) || ARCHIVE_SUFFIXES.some((s) => t.endsWith(s)) || ARCHIVE_PREFIXES.some((p) => t.startsWith(p))) {
    return { kind: 'archive', what: `content-type ${printable(t)}` };
  }
  return { kind: 'plain' };
}

const MAGIC: ReadonlyArray<{ what: string; bytes: readonly number[] }> = [
  { what: 'zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { what: 'zip', bytes: [0x50, 0x4b, 0x05, 0x06] },
  { what: 'zip', bytes: [0x50, 0x4b, 0x07, 0x08] },
  { what: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { what: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { what: '7z', bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { what: 'rar', bytes: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07] },
  { what: 'lz4', bytes: [0x04, 0x22, 0x4d, 0x18] },
  // "BZh" + level + block magic: printable, so the whole 10 bytes, or text starting "BZh" would match.
  { what: 'bzip2', bytes: [0x42, 0x5a, 0x68, -1, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59] },
];

/** The kind of a body of unknown type, from its first bytes. */
export function sniff(head: Uint8Array): BodyKind {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return { kind: 'gzip' };
  for (const m of MAGIC) {
    if (head.length >= m.bytes.length && m.bytes.every((b, i) => b < 0 || head[i] === b)) return { kind: 'archive', what: `${m.what} data` };
  }
  return { kind: 'plain' };
}

/**
 * Reads the first `n` bytes of a body (fewer when it ends sooner) and
 * returns them with a stream of the whole body, those bytes first (reading
 * on from the same iterator, with backpressure; destroying it destroys the
 * original). Rejects when the body fails while being read.
 */
export async function peek(body: Readable, n: number): Promise<{ head: Buffer; body: Readable }> {
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let len = 0;
  let ended = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    chunks.push(r.value);
    len += r.value.length;
  }
  const head = Buffer.concat(chunks);
  async function* whole(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      for (let r = ended ? undefined : await it.next(); r && !r.done; r = await it.next()) yield r.value;
    } finally {
      await it.return?.();
    }
  }
  return { head, body: Readable.from(whole(), { objectMode: false }) };
}
