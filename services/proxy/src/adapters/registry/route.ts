import { parseTarget, type RequestTarget } from '../../lib/request-target.js';
import type { Connection } from '../types.js';

export { handleRegistryRoot } from './root.js';

/** The registry API's root paths, answered by the gateway itself (root.ts). */
export type RegistryRoot = { readonly what: 'ping' } | { readonly what: 'catalog' } | { readonly what: 'unknown' };

/** Where a `/v2/…` request goes: the gateway's own root answers, or a registry connection. */
export type RegistryRouted = { readonly root: RegistryRoot; readonly target?: undefined } | { readonly root?: undefined; readonly target: RequestTarget };

/**
 * Registry clients speak only to `/v2/` at the root of a host, so the image
 * `gateway/<connection>/acme/app:1.2` arrives as
 * `/v2/<connection>/acme/app/manifests/1.2`. This maps it to the connection
 * named by the first component, with the path the upstream expects
 * (`/v2/acme/app/manifests/1.2`). `GET /v2/` (the auth ping) and
 * `/v2/_catalog` are the gateway's own; a `/v2/<name>/…` whose name is no
 * registry connection is answered in the registry's error format (unless a
 * connection is itself named `v2`, which then keeps its plain routing).
 * Returns undefined for every other request target. The target checks
 * (dot segments, encoded separators, control characters) are parseTarget's.
 */
export function registryRoute(url: string | undefined, connections: ReadonlyMap<string, Connection>): RegistryRouted | undefined {
  if (url === undefined || !(url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?'))) return undefined;
  const t = parseTarget(url);
  if (t.connection !== 'v2') return undefined;
  if (t.path === '/' || t.path === '') return { root: { what: 'ping' } };
  if (t.path === '/_catalog') return { root: { what: 'catalog' } };
  const raw = t.rawPath.slice(1).split('/');
  const decoded = t.path.slice(1).split('/');
  const name = decoded[0] ?? '';
  const connection = connections.get(name);
  if (connection?.type !== 'registry') return connections.has('v2') ? undefined : { root: { what: 'unknown' } };
  const { rawQuery, query } = rewriteMountSource(t, name);
  return {
    target: {
      connection: name,
      rawPath: `/v2/${raw.slice(1).join('/')}`,
      path: `/v2/${decoded.slice(1).join('/')}`,
      rawQuery,
      query,
    },
  };
}

/**
 * A cross-repository mount (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`)
 * names its source in the client's namespace (`<connection>/acme/base`): the
 * upstream knows it as `acme/base`. A source on another connection (another
 * upstream) cannot be mounted, so the mount is dropped and the registry
 * starts a plain upload instead, which is what the protocol does for a
 * mount it cannot serve.
 */
function rewriteMountSource(t: RequestTarget, connection: string): Pick<RequestTarget, 'rawQuery' | 'query'> {
  const from = t.query.from;
  if (from === undefined) return { rawQuery: t.rawQuery, query: t.query };
  const params = new URLSearchParams(t.rawQuery.slice(1));
  const prefix = `${connection}/`;
  if (typeof from === 'string' && from.startsWith(prefix) && from.length > prefix.length) {
    params.set('from', from.slice(prefix.length));
  } else {
    params.delete('from');
    params.delete('mount');
  }
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of params) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const text = params.toString();
  return { rawQuery: text ? `?${text}` : '', query };
}
