import type { RegistryFields } from '@agentgate/events';
import { ProxyError } from '../../errors.js';
import type { AdapterRequest, Classification, UpstreamHead } from '../types.js';
import { isDigest } from './names.js';
import { forgetTokens } from './upstream.js';

type Headers = Record<string, string | string[]>;

/**
 * The registry's response head as the client gets it. The upstream speaks
 * in its own URL space (`Location: https://upstream/v2/acme/app/blobs/uploads/<id>?_state=…`,
 * `Link: </v2/acme/app/tags/list?last=x>; rel="next"`); the client must
 * come back through the gateway, so those become `/v2/<connection>/acme/app/…`
 * (path-absolute: no upstream host, no userinfo). A `Location` on another
 * host (a storage redirect, or a registry trying to send the client
 * elsewhere) is refused: the client would leave the gateway's audit and
 * policy. The upstream's own `WWW-Authenticate` is dropped: it would send
 * the client, with its CI token, to the upstream's token endpoint.
 */
export function rewriteHead(
  req: AdapterRequest,
  classification: Classification,
  head: UpstreamHead,
): { headers: Headers; audit?: { registry: RegistryFields } } {
  const headers: Headers = { ...head.headers };
  const upstream = new URL(req.connection.upstream);
  const prefix = upstream.pathname.replace(/\/$/, '');
  const toGateway = (value: string): string | undefined => {
    let url: URL;
    try {
      url = new URL(value, `${upstream.origin}${prefix}${req.rawPath}`);
    } catch {
      return undefined;
    }
    if (url.origin !== upstream.origin || !url.pathname.startsWith(`${prefix}/v2/`)) return undefined;
    const rest = url.pathname.slice(prefix.length + '/v2/'.length);
    return `/v2/${req.connection.name}/${rest}${url.search}`;
  };

  const location = headers.location;
  if (location !== undefined) {
    const rewritten = typeof location === 'string' ? toGateway(location) : undefined;
    if (rewritten === undefined) {
      throw new ProxyError(
        'ERR_UPSTREAM_FAILED',
        `connection "${req.connection.name}": the registry sent a Location on another host or outside its API; refused`,
      );
    }
    headers.location = rewritten;
  }
  if (headers.link !== undefined) {
    const links = (Array.isArray(headers.link) ? headers.link : [headers.link])
      .flatMap((v) => v.split(/,(?=\s*<)/))
      .map((l) => {
        const m = /^\s*<([^>]*)>(.*)$/.exec(l);
        const target = m ? toGateway(m[1] ?? '') : undefined;
        // A link the gateway cannot express in its own URL space is dropped (pagination stops there), never passed on.
        return m && target !== undefined ? `<${target}>${m[2] ?? ''}` : undefined;
      })
      .filter((l): l is string => l !== undefined);
    if (links.length > 0) headers.link = links.join(', ');
    else delete headers.link;
  }
  delete headers['www-authenticate'];
  // A token the upstream refused is forgotten, so the client's retry fetches a fresh one.
  if (head.status === 401) forgetTokens(req.connection);
  headers['docker-distribution-api-version'] ??= 'registry/2.0';

  const recorded = classification.audit?.registry;
  if (!recorded) return { headers };
  return { headers, audit: { registry: { ...recorded, ...learned(classification, head) } } };
}

/** What a successful read tells the record: the digest a tag resolved to, the media type and size served. */
function learned(classification: Classification, head: UpstreamHead): Partial<RegistryFields> {
  if (head.status !== 200 && head.status !== 201) return {};
  const out: Partial<RegistryFields> = {};
  const digest = head.headers['docker-content-digest'];
  if (typeof digest === 'string' && isDigest(digest)) out.digest = digest;
  const attrs = classification.attributes as { operation?: string; target?: string };
  if (attrs.operation === 'read' && (attrs.target === 'manifest' || attrs.target === 'blob')) {
    const type = head.headers['content-type'];
    if (attrs.target === 'manifest' && typeof type === 'string') out.media_type = type.split(';', 1)[0]?.trim() ?? type;
    const length = head.headers['content-length'];
    if (typeof length === 'string' && /^\d{1,15}$/.test(length)) out.size = Number(length);
  }
  return out;
}
