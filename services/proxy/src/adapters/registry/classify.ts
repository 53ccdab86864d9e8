import type { RegistryFields } from '@agentgate/events';
import { ProxyError } from '../../errors.js';
import type { AdapterRequest, Classification } from '../types.js';
import { MANIFEST_TYPES, readManifest } from './manifest.js';
import { isDigest, isRepositoryName, parseRegistryPath, type RegistryPath } from './names.js';
import { type RegistryConnection, upstreamCall } from './upstream.js';

/** The action kinds of the registry adapter. */
export type RegistryKind = 'registry.pull' | 'registry.push' | 'registry.tag_overwrite' | 'registry.delete' | 'registry.catalog';

/** Attributes policy sees as `attrs.*` (and the requested/completed events record). */
export interface RegistryAttributes {
  repository: string;
  /** manifest | blob | upload | tags | catalog */
  target: string;
  /** What the request does: read, upload-start, upload-chunk, upload-finish, upload-status, upload-cancel, mount, put-manifest, delete. */
  operation: string;
  tag?: string;
  digest?: string;
  mediaType?: string;
  /** Bytes of the request body (a manifest's length, an upload chunk's declared length). */
  size?: number;
  /** A manifest push to a tag: whether the tag existed upstream before, and its digest then. */
  tagExisted?: boolean;
  previousDigest?: string;
  /** Cross-repository mount: the source repository on the same upstream. */
  mountFrom?: string;
  /** Layers (image manifest) or entries (index) of a pushed manifest. */
  layers?: number;
}

const PULL = new Set(['GET', 'HEAD']);

/** Turns a `/v2/<repository>/…` request (already routed to its connection) into a registry action. */
export async function classifyRegistry(req: AdapterRequest): Promise<Classification> {
  const conn = req.connection as RegistryConnection;
  const route = parseRegistryPath(req.path.replace(/^\/v2\//, ''));
  const base = { repository: route.repository, target: route.target };
  switch (route.target) {
    case 'manifest':
      if (PULL.has(req.method)) return done('registry.pull', { ...base, operation: 'read', ...ref(route) });
      if (req.method === 'PUT') return pushManifest(req, conn, route);
      if (req.method === 'DELETE') return deleteManifest(req, conn, route);
      break;
    case 'blob':
      // A blob is content-addressed: it streams verbatim (see README.md, "Masking").
      if (PULL.has(req.method)) return { ...done('registry.pull', { ...base, operation: 'read', digest: route.digest }), verbatimBody: true };
      if (req.method === 'DELETE') return done('registry.delete', { ...base, operation: 'delete', digest: route.digest });
      break;
    case 'tags':
      if (req.method === 'GET') return done('registry.pull', { ...base, operation: 'read' });
      break;
    case 'upload':
      return upload(req, route);
  }
  throw new ProxyError('ERR_METHOD_NOT_ALLOWED', `${req.method} is not a registry API method on ${route.target}s`);
}

function ref(route: Extract<RegistryPath, { target: 'manifest' }>): { tag?: string; digest?: string } {
  return route.tag !== undefined ? { tag: route.tag } : { digest: route.digest as string };
}

function upload(req: AdapterRequest, route: Extract<RegistryPath, { target: 'upload' }>): Classification {
  const base = { repository: route.repository, target: 'upload' as const };
  const size = req.contentLength;
  const digest = queryDigest(req);
  if (route.upload === undefined) {
    if (req.method !== 'POST') throw new ProxyError('ERR_METHOD_NOT_ALLOWED', 'an upload starts with POST');
    const mount = req.query.mount;
    const from = req.query.from;
    if (typeof mount === 'string' && typeof from === 'string') {
      if (!isDigest(mount) || !isRepositoryName(from)) throw new ProxyError('ERR_BAD_REQUEST', 'invalid mount digest or source repository');
      return done('registry.push', { ...base, operation: 'mount', digest: mount, mountFrom: from });
    }
    return done('registry.push', {
      ...base,
      operation: digest ? 'upload-monolithic' : 'upload-start',
      ...(digest && { digest }),
      ...(size !== undefined && { size }),
    });
  }
  const operation = { PATCH: 'upload-chunk', PUT: 'upload-finish', GET: 'upload-status', DELETE: 'upload-cancel' }[req.method];
  if (!operation) throw new ProxyError('ERR_METHOD_NOT_ALLOWED', `${req.method} is not an upload method`);
  if (req.method === 'PUT' && !digest) throw new ProxyError('ERR_BAD_REQUEST', 'completing an upload needs ?digest=<digest>');
  return done('registry.push', { ...base, operation, ...(digest && { digest }), ...(size !== undefined && size > 0 && { size }) });
}

function queryDigest(req: AdapterRequest): string | undefined {
  const d = req.query.digest;
  if (d === undefined) return undefined;
  if (typeof d !== 'string' || !isDigest(d)) throw new ProxyError('ERR_BAD_REQUEST', 'invalid digest (expected sha256:<64 hex digits>)');
  return d;
}

/**
 * A manifest push is read whole (it is small and bounded), validated and
 * digested; pushed by digest, the digest must match the bytes. Pushed to a
 * tag, the upstream is asked first (HEAD with the gateway's credential)
 * whether the tag exists and with which digest: a different digest makes
 * it a `registry.tag_overwrite`. The answer is only as fresh as that HEAD
 * (the registry has no compare-and-swap on tags).
 */
async function pushManifest(req: AdapterRequest, conn: RegistryConnection, route: Extract<RegistryPath, { target: 'manifest' }>): Promise<Classification> {
  const ct = req.headers['content-type'];
  const m = await readManifest(req.body, typeof ct === 'string' ? ct : undefined, req.contentLength, conn.options.maxManifestBytes);
  if (route.digest !== undefined && route.digest !== m.digest) {
    throw new ProxyError('ERR_DIGEST_INVALID', 'the manifest does not match the digest it was pushed by');
  }
  const attrs: RegistryAttributes = {
    repository: route.repository,
    target: 'manifest',
    operation: 'put-manifest',
    ...(route.tag !== undefined && { tag: route.tag }),
    digest: m.digest,
    mediaType: m.mediaType,
    size: m.bytes.length,
    layers: m.entries,
  };
  let kind: RegistryKind = 'registry.push';
  if (route.tag !== undefined) {
    const previous = await currentDigest(req, conn, route.repository, route.tag);
    attrs.tagExisted = previous !== null;
    if (previous !== null && previous !== undefined) attrs.previousDigest = previous;
    // A tag that exists with another (or an unknown) digest is moved: that is an overwrite.
    if (previous !== null && previous !== m.digest) kind = 'registry.tag_overwrite';
  }
  return { ...done(kind, attrs), body: m.bytes, bodyLength: m.bytes.length };
}

async function deleteManifest(req: AdapterRequest, conn: RegistryConnection, route: Extract<RegistryPath, { target: 'manifest' }>): Promise<Classification> {
  const attrs: RegistryAttributes = { repository: route.repository, target: 'manifest', operation: 'delete', ...ref(route) };
  if (route.tag !== undefined) {
    const current = await currentDigest(req, conn, route.repository, route.tag);
    attrs.tagExisted = current !== null;
    if (current) attrs.digest = current;
  }
  return done('registry.delete', attrs);
}

/** The digest a tag points at upstream: null when the tag does not exist, undefined when it exists but the registry did not say. */
async function currentDigest(req: AdapterRequest, conn: RegistryConnection, repository: string, tag: string): Promise<string | null | undefined> {
  const lease = await req.lease?.();
  const res = await upstreamCall(conn, lease, {
    method: 'HEAD',
    apiPath: `/v2/${repository}/manifests/${tag}`,
    scopes: [`repository:${repository}:pull`],
    headers: { accept: MANIFEST_TYPES.join(', ') },
  });
  await res.body.dump().catch(() => {});
  if (res.statusCode === 404) return null;
  if (res.statusCode === 200) {
    const d = res.headers['docker-content-digest'];
    return typeof d === 'string' && isDigest(d) ? d : undefined;
  }
  // Deciding needs the answer: anything else refuses the push (fail closed).
  const why = res.statusCode === 401 || res.statusCode === 403 ? 'refused the gateway credential' : `answered ${res.statusCode}`;
  throw new ProxyError('ERR_UPSTREAM_FAILED', `connection "${conn.name}": checking whether the tag exists failed: the registry ${why}`);
}

function done(kind: RegistryKind, attrs: RegistryAttributes): Classification {
  return { kind, attributes: { ...attrs }, audit: { registry: auditOf(attrs) } };
}

/** The record's `agentgate.registry` object from the attributes. */
export function auditOf(a: RegistryAttributes): RegistryFields {
  return {
    repository: a.repository,
    ...(a.tag !== undefined && { tag: a.tag }),
    ...(a.digest !== undefined && { digest: a.digest }),
    ...(a.mediaType !== undefined && { media_type: a.mediaType }),
    ...(a.size !== undefined && { size: a.size }),
    ...(a.tagExisted !== undefined && { tag_existed: a.tagExisted }),
    ...(a.previousDigest !== undefined && { previous_digest: a.previousDigest }),
    ...(a.mountFrom !== undefined && { mount_from: a.mountFrom }),
  };
}
