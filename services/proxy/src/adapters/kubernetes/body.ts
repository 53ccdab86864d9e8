import type { Readable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { ProxyError } from '../../errors.js';

/** How the body of a write is to be read (from its Content-Type). */
export type BodyType = 'object' | 'merge' | 'strategic' | 'json-patch' | 'apply';

/** What a write does to `spec.replicas`: a number, `unset` (not touched, or reset to the default), or `unknown`. */
export type ReplicasEffect = number | 'unset' | 'unknown';

const MEDIA: Record<string, BodyType> = {
  'application/json': 'object',
  'application/yaml': 'object',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json-patch',
  'application/apply-patch+yaml': 'apply',
};

/** The media type of a Content-Type header, lower-case and without parameters. */
export function mediaType(contentType: string | string[] | undefined): string {
  const v = Array.isArray(contentType) ? contentType[0] : contentType;
  return (v ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/** The patch type of a PATCH's Content-Type, for the audit (`json`, `merge`, `strategic`, `apply`), or undefined. */
export function patchTypeOf(contentType: string | string[] | undefined): string | undefined {
  const m = mediaType(contentType);
  if (m === 'application/json-patch+json') return 'json';
  if (m === 'application/merge-patch+json') return 'merge';
  if (m === 'application/strategic-merge-patch+json') return 'strategic';
  if (m.startsWith('application/apply-patch')) return 'apply';
  return undefined;
}

/**
 * Reads a write's body, at most `max` bytes (the API server's own limit is
 * 3 MiB). Only writes that must be classified by content are read; every
 * other body streams through untouched.
 * @throws ProxyError ERR_BODY_TOO_LARGE past `max`.
 */
export async function readBounded(body: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new ProxyError('ERR_BODY_TOO_LARGE', `the body of this write exceeds the ${max} bytes the gateway reads to classify it`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * What the body does to `spec.replicas` (of a workload or of its `scale`
 * subresource, whose `Scale` object has the same `spec.replicas`), per
 * patch type: a full object (update), a JSON merge or strategic merge
 * patch, a JSON patch (RFC 6902: the last operation on the field wins), or
 * a server-side apply configuration (YAML or JSON).
 * @throws ProxyError ERR_KUBE_BODY_UNSUPPORTED for protobuf/CBOR or an encoded body, ERR_KUBE_BODY_MALFORMED when it does not parse.
 */
export function replicasEffect(bytes: Buffer, contentType: string | string[] | undefined, contentEncoding: string | string[] | undefined): ReplicasEffect {
  if (contentEncoding !== undefined && String(contentEncoding).toLowerCase() !== 'identity') {
    throw new ProxyError('ERR_KUBE_BODY_UNSUPPORTED', 'a compressed body of this write cannot be inspected; send it uncompressed');
  }
  const m = mediaType(contentType);
  const type = MEDIA[m];
  if (type === undefined) {
    throw new ProxyError(
      'ERR_KUBE_BODY_UNSUPPORTED',
      `a ${m ? m.slice(0, 80) : 'typeless'} body of this write cannot be inspected (it may scale to zero); send JSON or YAML`,
    );
  }
  const doc = parseBody(bytes, m === 'application/yaml' || type === 'apply');
  if (type === 'json-patch') return jsonPatchEffect(doc);
  return specReplicas(doc, type);
}

function parseBody(bytes: Buffer, yaml: boolean): unknown {
  const text = bytes.toString('utf8');
  try {
    // YAML is a superset of JSON; aliases are capped so a "billion laughs" document cannot expand.
    return yaml ? parseYaml(text, { maxAliasCount: 50, prettyErrors: false, uniqueKeys: false }) : JSON.parse(text);
  } catch (cause) {
    // The parser's message may quote the body: it goes to the log as the cause, never to the client.
    throw new ProxyError('ERR_KUBE_BODY_MALFORMED', `the ${yaml ? 'YAML' : 'JSON'} body of this write does not parse`, { cause });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function replicasValue(v: unknown): ReplicasEffect {
  if (v === undefined || v === null) return 'unset';
  // The API server would refuse a non-integer; a string "0" is not provably non-zero, so it is unknown (fail closed).
  return typeof v === 'number' && Number.isInteger(v) ? v : 'unknown';
}

function specReplicas(doc: unknown, type: BodyType): ReplicasEffect {
  if (!isObject(doc)) {
    if (doc === null || doc === undefined) return 'unset';
    throw new ProxyError('ERR_KUBE_BODY_MALFORMED', 'the body of this write is not an object');
  }
  const spec = doc['spec'];
  if (spec === undefined || spec === null) return 'unset';
  if (!isObject(spec)) return type === 'object' ? 'unknown' : 'unset';
  return replicasValue(spec['replicas']);
}

/** RFC 6902: the operations are applied in order; the last one that reaches spec.replicas decides. */
function jsonPatchEffect(doc: unknown): ReplicasEffect {
  if (!Array.isArray(doc)) throw new ProxyError('ERR_KUBE_BODY_MALFORMED', 'a JSON patch must be an array of operations');
  let effect: ReplicasEffect = 'unset';
  for (const op of doc) {
    if (!isObject(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') {
      throw new ProxyError('ERR_KUBE_BODY_MALFORMED', 'a JSON patch operation needs "op" and "path"');
    }
    const path = op['path'];
    const kind = op['op'];
    if (kind === 'test') continue;
    const touches = path === '' || path === '/spec' || path === '/spec/replicas';
    if (!touches) continue;
    if (kind === 'remove') effect = 'unset';
    else if (kind === 'add' || kind === 'replace') {
      const value = op['value'];
      if (path === '/spec/replicas') effect = replicasValue(value);
      else if (path === '/spec') effect = isObject(value) ? replicasValue(value['replicas']) : 'unset';
      else effect = isObject(value) && isObject(value['spec']) ? replicasValue(value['spec']['replicas']) : 'unset';
    } else {
      // copy/move into the field: the value comes from elsewhere in the object, unknown here.
      effect = 'unknown';
    }
  }
  return effect;
}

/** What a DELETE's `DeleteOptions` body says (kubectl sends `--dry-run=server` there, not in the query). */
export interface DeleteOptions {
  dryRun: boolean;
  propagationPolicy?: string;
  gracePeriodSeconds?: number;
}

/**
 * Reads a `DeleteOptions` body. Anything unreadable (protobuf, broken JSON)
 * counts as a real delete: taking a dry run for a real one is the safe side,
 * and the API server judges the body itself.
 */
export function deleteOptions(bytes: Buffer, contentType: string | string[] | undefined): DeleteOptions {
  const m = mediaType(contentType);
  if (bytes.length === 0 || (m !== '' && m !== 'application/json' && m !== 'application/yaml')) return { dryRun: false };
  let doc: unknown;
  try {
    doc = m === 'application/yaml' ? parseYaml(bytes.toString('utf8'), { maxAliasCount: 50 }) : JSON.parse(bytes.toString('utf8'));
  } catch {
    return { dryRun: false };
  }
  if (!isObject(doc)) return { dryRun: false };
  const dry = doc['dryRun'];
  const policy = doc['propagationPolicy'];
  const grace = doc['gracePeriodSeconds'];
  return {
    dryRun: Array.isArray(dry) && dry.includes('All'),
    ...(typeof policy === 'string' && { propagationPolicy: policy.slice(0, 32) }),
    ...(typeof grace === 'number' && Number.isInteger(grace) && { gracePeriodSeconds: grace }),
  };
}
