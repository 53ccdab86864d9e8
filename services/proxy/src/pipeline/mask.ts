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

/**
 * Decoders for a response's Content-Encoding, outermost last in the header
 * so applied in reverse. Compressed bodies are decoded, masked and sent
 * uncompressed (Content-Encoding and Content-Length dropped): masking
 * compressed bytes would miss the secret, and passing them unmasked would
 * leak it. An encoding the gateway cannot decode (zstd, compress, …) is
 * refused (ERR_UPSTREAM_ENCODING) rather than passed through uninspected.
 */
export function decodersFor(contentEncoding: string | string[] | undefined): Transform[] {
  if (contentEncoding === undefined) return [];
  const list = (Array.isArray(contentEncoding) ? contentEncoding.join(',') : contentEncoding)
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0 && s !== 'identity');
  return list.reverse().map((coding) => {
    const make = DECODERS[coding];
    if (!make) throw new ProxyError('ERR_UPSTREAM_ENCODING', `the upstream answered with Content-Encoding "${coding.slice(0, 40)}", which the gateway cannot inspect`);
    return make();
  });
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
