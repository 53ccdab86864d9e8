import type { Adapter, Classification } from '../types.js';
import { classifyRegistry } from './classify.js';
import { renderRegistryError } from './render.js';
import { rewriteHead } from './response-head.js';
import { authorize, type RegistryConnection } from './upstream.js';

/**
 * The registry adapter (OCI distribution API, `type: registry`): docker,
 * skopeo and oras-style clients reach `/v2/<connection>/<repository>/…`
 * (route.ts); pulls, pushes, tag overwrites (found by asking the upstream
 * before deciding) and deletes are decided by policy before the upstream
 * sees them. Blobs stream through; manifests are read, validated, digested
 * and forwarded byte-identical. See README.md in this folder.
 */
export const registryAdapter: Adapter = {
  type: 'registry',
  // docker and skopeo answer a Basic challenge with the login's password: the CI token.
  challenge: 'basic',
  classify: classifyRegistry,
  renderError: renderRegistryError,
  authorizeUpstream: (req, classification, lease, headers) => authorize(req.connection as RegistryConnection, lease, scopesOf(classification), headers),
  responseHead: rewriteHead,
};

/**
 * Token scopes a forwarded request needs (distribution's resource scopes):
 * pull for reads, pull+push for uploads and manifest pushes (plus pull on a
 * mount's source), delete for deletes.
 */
export function scopesOf(c: Classification): string[] {
  const a = c.attributes as { repository?: string; mountFrom?: string; operation?: string };
  const repo = `repository:${a.repository ?? ''}`;
  switch (c.kind) {
    case 'registry.pull':
      return [`${repo}:pull`];
    case 'registry.delete':
      return [`${repo}:delete`];
    case 'registry.catalog':
      return ['registry:catalog:*'];
    default:
      return a.mountFrom ? [`${repo}:pull,push`, `repository:${a.mountFrom}:pull`] : [`${repo}:pull,push`];
  }
}
