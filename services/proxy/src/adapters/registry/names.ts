import { ProxyError } from '../../errors.js';

/**
 * The grammar of the distribution API (distribution/reference): a name is
 * `/`-separated components of lower-case alphanumerics joined by `.`, `_`,
 * `__` or runs of `-`, at most 255 characters; a tag is a word of at most
 * 128 characters; a digest is `algorithm:hex`.
 */
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,256}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const UPLOAD_ID = /^[A-Za-z0-9][A-Za-z0-9_.=-]{0,127}$/;
const MAX_NAME = 255;

/** What a `/v2/<name>/…` request addresses on the upstream. */
export type RegistryPath =
  | { readonly target: 'manifest'; readonly repository: string; readonly tag?: string; readonly digest?: string }
  | { readonly target: 'blob'; readonly repository: string; readonly digest: string }
  | { readonly target: 'upload'; readonly repository: string; readonly upload?: string }
  | { readonly target: 'tags'; readonly repository: string };

/** True for a repository name the distribution API accepts. */
export function isRepositoryName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME && name.split('/').every((c) => COMPONENT.test(c));
}

/** True for `algorithm:encoded`; `sha256:` must carry 64 lower-case hex digits. */
export function isDigest(value: string): boolean {
  return DIGEST.test(value) && (!value.startsWith('sha256:') || SHA256.test(value));
}

function repository(name: string): string {
  // The message never echoes the name: it came from the client and may be anything.
  if (!isRepositoryName(name))
    throw new ProxyError('ERR_BAD_REQUEST', 'invalid repository name (lower-case components separated by "/", at most 255 characters)');
  return name;
}

function digest(value: string): string {
  if (!isDigest(value)) throw new ProxyError('ERR_BAD_REQUEST', 'invalid digest (expected sha256:<64 hex digits>)');
  return value;
}

/**
 * Parses the decoded path after `/v2/` (`acme/app/manifests/1.2`). A name
 * may itself contain `blobs` or `manifests` components, so the last marker
 * wins, as distribution's router resolves it. Anything else (referrers,
 * the v1 API, unknown routes) is refused rather than forwarded unclassified.
 */
export function parseRegistryPath(apiPath: string): RegistryPath {
  let m = /^(.+)\/manifests\/([^/]+)$/.exec(apiPath);
  if (m) {
    const [, name = '', ref = ''] = m;
    if (ref.includes(':')) return { target: 'manifest', repository: repository(name), digest: digest(ref) };
    if (!TAG.test(ref)) throw new ProxyError('ERR_BAD_REQUEST', 'invalid tag (a word of at most 128 characters: letters, digits, "_", "." and "-")');
    return { target: 'manifest', repository: repository(name), tag: ref };
  }
  m = /^(.+)\/blobs\/uploads\/?$/.exec(apiPath);
  if (m) return { target: 'upload', repository: repository(m[1] ?? '') };
  m = /^(.+)\/blobs\/uploads\/([^/]+)$/.exec(apiPath);
  if (m) {
    if (!UPLOAD_ID.test(m[2] ?? '')) throw new ProxyError('ERR_BAD_REQUEST', 'invalid upload id');
    return { target: 'upload', repository: repository(m[1] ?? ''), upload: m[2] ?? '' };
  }
  m = /^(.+)\/blobs\/([^/]+)$/.exec(apiPath);
  if (m) return { target: 'blob', repository: repository(m[1] ?? ''), digest: digest(m[2] ?? '') };
  m = /^(.+)\/tags\/list$/.exec(apiPath);
  if (m) return { target: 'tags', repository: repository(m[1] ?? '') };
  throw new ProxyError('ERR_NOT_FOUND', 'not a registry API route (manifests, blobs, blob uploads or tags/list of a repository)');
}
