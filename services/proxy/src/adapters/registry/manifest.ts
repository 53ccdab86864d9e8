import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ProxyError } from '../../errors.js';
import { isDigest } from './names.js';

/** Manifest media types the gateway recognises (Docker v2 schema 2 and OCI, single and index). */
export const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
] as const;

const INDEX_TYPES = new Set<string>(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

/** A pushed manifest: its exact bytes (forwarded as they are), digest and what policy and the record see. */
export interface PushedManifest {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly mediaType: string;
  /** Layers of an image manifest, or entries of an index. */
  readonly entries: number;
  /** Sum of the sizes the manifest declares for its config and layers (or its entries). */
  readonly declaredSize: number;
}

/**
 * Reads a manifest body, bounded by `max` (the declared length is checked
 * first, so an oversized push is refused before a byte is read), and
 * validates it: a JSON object with `schemaVersion: 2`, a media type known
 * here and consistent with `Content-Type`, and well-formed descriptors.
 * The bytes are kept exactly as sent: the digest is over them and the
 * upstream must store the same bytes. Error messages never echo the body.
 */
export async function readManifest(body: Readable, contentType: string | undefined, declaredLength: number | undefined, max: number): Promise<PushedManifest> {
  if (declaredLength !== undefined && declaredLength > max) {
    body.resume();
    throw new ProxyError('ERR_BODY_TOO_LARGE', `manifest of ${declaredLength} bytes exceeds the limit of ${max} bytes`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += (chunk as Buffer).length;
    if (n > max) {
      body.destroy();
      throw new ProxyError('ERR_BODY_TOO_LARGE', `manifest exceeds the limit of ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, ...validate(bytes, mediaTypeOf(contentType)) };
}

function mediaTypeOf(contentType: string | undefined): string | undefined {
  const t = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return t ? t : undefined;
}

function invalid(why: string): ProxyError {
  return new ProxyError('ERR_MANIFEST_INVALID', `invalid manifest: ${why}`);
}

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
}

function descriptorSize(d: unknown, what: string): number {
  if (typeof d !== 'object' || d === null) throw invalid(`${what} is not a descriptor object`);
  const { digest, size, mediaType } = d as Descriptor;
  if (typeof digest !== 'string' || !isDigest(digest)) throw invalid(`${what} has no valid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${what} has no valid size`);
  if (mediaType !== undefined && typeof mediaType !== 'string') throw invalid(`${what} has a non-string mediaType`);
  return size;
}

function validate(bytes: Buffer, contentType: string | undefined): Omit<PushedManifest, 'bytes' | 'digest'> {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid('not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('not a JSON object');
  const m = doc as { schemaVersion?: unknown; mediaType?: unknown; config?: unknown; layers?: unknown; manifests?: unknown };
  if (m.schemaVersion !== 2) throw invalid('schemaVersion must be 2 (schema 1 manifests are not accepted)');
  if (m.mediaType !== undefined && typeof m.mediaType !== 'string') throw invalid('mediaType is not a string');
  const declared = m.mediaType as string | undefined;
  if (declared !== undefined && contentType !== undefined && declared !== contentType) throw invalid('mediaType differs from Content-Type');
  const mediaType = declared ?? contentType ?? (Array.isArray(m.manifests) ? MANIFEST_TYPES[1] : MANIFEST_TYPES[0]);
  if (!(MANIFEST_TYPES as readonly string[]).includes(mediaType)) throw invalid('unknown manifest media type');
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(m.manifests)) throw invalid('an index needs a manifests array');
    const sizes = m.manifests.map((d, i) => descriptorSize(d, `manifests[${i}]`));
    return { mediaType, entries: sizes.length, declaredSize: sizes.reduce((a, b) => a + b, 0) };
  }
  if (!Array.isArray(m.layers)) throw invalid('an image manifest needs a layers array');
  const config = descriptorSize(m.config, 'config');
  const layers = m.layers.map((d, i) => descriptorSize(d, `layers[${i}]`));
  return { mediaType, entries: layers.length, declaredSize: config + layers.reduce((a, b) => a + b, 0) };
}
