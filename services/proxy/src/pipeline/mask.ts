import { Transform, type TransformCallback } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Finding, Masker } from '@agentgate/masking';
import { ProxyError } from '../errors.js';

/** Masked response headers and what was found in them. */
export interface MaskedHeaders {
  headers: Record<string, string | string[]>;
  findings: Finding[];
}

/** Masks every response header value (Location, Set-Cookie, WWW-Authenticate, custom echoes…). */
export function maskHeaders(masker: Masker, headers: Record<string, string | string[]>): MaskedHeaders {
  const out: Record<string, string | string[]> = {};
  const findings: Finding[] = [];
  const one = (v: string): string => {
    const r = masker.maskText(v);
    findings.push(...r.findings);
    return r.text;
  };
  for (const [name, value] of Object.entries(headers)) out[name] = Array.isArray(value) ? value.map(one) : one(value);
  return { headers: out, findings };
}

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** Codings the gateway can decode, offered upstream instead of whatever the client asked for. */
export const DECODABLE_ENCODINGS = 'gzip, deflate, br';

/** The codings of a Content-Encoding or Transfer-Encoding value, in the order they were applied (`identity` and `chunked` left out). */
export function codingsOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((s) => s.trim().toLowerCase().replace(/;.*$/, '').trim())
    .filter((s) => s.length > 0 && s !== 'identity' && s !== 'chunked');
}

/** How the body of a masked response is decoded, or the coding that stops the gateway from reading it. */
export type BodyDecoding = { readonly decoders: Transform[] } | { readonly unknown: string; readonly header: 'content-encoding' | 'transfer-encoding' };

/**
 * Decoders for a response body, outermost first: transfer codings (undici
 * removes `chunked` only, so `Transfer-Encoding: gzip, chunked` arrives
 * still gzipped) are decoded like content codings, then the content codings
 * (each list applied left to right, so undone right to left). A decoded body
 * is masked and sent uncompressed (Content-Encoding and Content-Length
 * dropped): masking compressed bytes would miss the secret, and passing them
 * unmasked would leak it. The first coding the gateway cannot decode (zstd,
 * compress, …) is returned instead, for the connection's `uninspectable`.
 */
export function decodingFor(headers: Record<string, string | string[] | undefined>): BodyDecoding {
  const layers = [
    { header: 'transfer-encoding' as const, codings: codingsOf(headers['transfer-encoding']).reverse() },
    { header: 'content-encoding' as const, codings: codingsOf(headers['content-encoding']).reverse() },
  ];
  for (const { header, codings } of layers) {
    const unknown = codings.find((c) => !DECODERS[c]);
    if (unknown !== undefined) return { unknown, header };
  }
  return { decoders: layers.flatMap(({ codings }) => codings.map((c) => DECODERS[c]!())) };
}

/** The refusal for a coding the gateway cannot decode (the coding name is cut and made printable). */
export function encodingRefusal(connection: string, d: { unknown: string; header: string }): ProxyError {
  const name = d.header === 'transfer-encoding' ? 'Transfer-Encoding' : 'Content-Encoding';
  return new ProxyError(
    'ERR_UPSTREAM_ENCODING',
    `connection "${connection}": the upstream answered with ${name} "${printable(d.unknown)}", which the gateway cannot inspect (uninspectable: refuse)`,
  );
}

/** At most 40 printable ASCII characters of an upstream-supplied token, for messages and labels. */
export function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 40);
}

/**
 * Counts decoded bytes and fails with ERR_UPSTREAM_TOO_LARGE past `max`.
 * Sits right after the decoders: a few KiB of gzip can inflate to gigabytes
 * (brotli far more), and although nothing is buffered, an unbounded decode
 * would burn the gateway's CPU and push the bomb on to the client. An
 * absolute cap, not a ratio: legitimate JSON or logs compress 100:1 and
 * more, so a ratio guard would refuse real answers while a cap bounds the
 * cost whatever the ratio. `onFirstChunk` runs once the first decoded chunk
 * passed the check (the caller sends the response head then).
 */
export class DecodedLimit extends Transform {
  bytes = 0;
  readonly #max: number;
  readonly #connection: string;
  #onFirstChunk: (() => void) | undefined;
  constructor(max: number, connection: string, onFirstChunk?: () => void) {
    super();
    this.#max = max;
    this.#connection = connection;
    this.#onFirstChunk = onFirstChunk;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#max) {
      cb(
        new ProxyError(
          'ERR_UPSTREAM_TOO_LARGE',
          `connection "${this.#connection}": the upstream response decodes to more than ${this.#max} bytes (gateway.limits.maxDecodedBytes); cut`,
        ),
      );
      return;
    }
    const first = this.#onFirstChunk;
    this.#onFirstChunk = undefined;
    first?.();
    cb(null, chunk);
  }
}

/** True for errors of node's zlib/brotli decoders (corrupt or truncated compressed data). */
export function isDecodeError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (/^Z_/.test(code) || /BROTLI|ZLIB/.test(code));
}

/** Merges findings of the same type/ref into one count. */
export function mergeFindings(lists: Finding[][]): { count: number; findings: Array<{ type: string; ref?: string; count: number }> } {
  const byKey = new Map<string, { type: string; ref?: string; count: number }>();
  for (const f of lists.flat()) {
    const key = `${f.type}\u0000${f.ref ?? ''}`;
    const cur = byKey.get(key);
    if (cur) cur.count += f.count;
    else byKey.set(key, { type: f.type, ...(f.ref !== undefined && { ref: f.ref }), count: f.count });
  }
  const findings = [...byKey.values()];
  return { count: findings.reduce((n, f) => n + f.count, 0), findings };
}
