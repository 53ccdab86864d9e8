import type { Readable, Transform } from 'node:stream';
import type { Connection } from '../adapters/types.js';
import { ProxyError } from '../errors.js';
import { type BodyKind, bodyKindOf, peek, SNIFF_BYTES, sniff } from './archive.js';
import { decodingFor, encodingRefusal, printable } from './mask.js';

/**
 * How a masked response body goes to the client:
 * - `mask`: decoded (transfer and content codings), masked, sent uncompressed;
 * - `verify`: a gzip file sent as data: decoded only to be checked, forwarded
 *   byte for byte (see verify-gzip.ts), after undoing any transfer or content
 *   coding around it;
 * - `uninspectable`: the gateway cannot read it; the connection's
 *   `uninspectable` says whether it is refused (`error`) or passed unchanged.
 */
export type BodyPlan =
  | { readonly how: 'mask'; readonly decoders: Transform[] }
  | { readonly how: 'verify'; readonly decoders: Transform[] }
  | { readonly how: 'uninspectable'; readonly reason: string; readonly error: ProxyError };

/** Connection types whose payloads are inspected for archives (git packs and registry blobs are binary data by design). */
const ARCHIVE_CHECKED = new Set<Connection['type']>(['http', 'llm']);

/**
 * Plans a masked body from the upstream's headers, and for a body of
 * unknown type (none, or `application/octet-stream`) from its first bytes;
 * returns the body to read from then (the same one, or one that gives
 * those bytes back first). Rejects when the body fails while being peeked at.
 */
export async function planBody(
  headers: Record<string, string | string[] | undefined>,
  body: Readable,
  connection: Connection,
): Promise<{ plan: BodyPlan; body: Readable }> {
  const decoding = decodingFor(headers);
  if ('unknown' in decoding) {
    return {
      plan: { how: 'uninspectable', reason: `${decoding.header} ${printable(decoding.unknown)}`, error: encodingRefusal(connection.name, decoding) },
      body,
    };
  }
  const { decoders } = decoding;
  if (!ARCHIVE_CHECKED.has(connection.type)) return { plan: { how: 'mask', decoders }, body };
  let kind: BodyKind = bodyKindOf(headers['content-type']);
  // An encoded body is sniffed as what it is on the wire, which says nothing; it is decoded and masked as bytes.
  if (kind.kind === 'sniff' && decoders.length === 0) {
    const peeked = await peek(body, SNIFF_BYTES);
    body = peeked.body;
    kind = sniff(peeked.head);
  } else if (kind.kind === 'sniff') kind = { kind: 'plain' };
  if (kind.kind === 'gzip') return { plan: { how: 'verify', decoders }, body };
  if (kind.kind === 'archive') {
    for (const d of decoders) d.destroy();
    const error = new ProxyError(
      'ERR_UPSTREAM_UNINSPECTABLE',
      `connection "${connection.name}": the upstream answered with ${kind.what}, a compressed archive the gateway cannot inspect (uninspectable: refuse)`,
    );
    return { plan: { how: 'uninspectable', reason: kind.what, error }, body };
  }
  return { plan: { how: 'mask', decoders }, body };
}
