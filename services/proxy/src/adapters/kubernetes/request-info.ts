import { ProxyError } from '../../errors.js';

/**
 * What a Kubernetes API request is about, resolved from method, path and
 * query the way the API server's own RequestInfoFactory does it
 * (k8s.io/apiserver/pkg/endpoints/request), so policy sees the verb the
 * cluster's RBAC will see.
 */
export type RequestInfo = ResourceRequest | NonResourceRequest;

/** A request under `/api/v1/…` or `/apis/<group>/<version>/…` naming a resource. */
export interface ResourceRequest {
  readonly type: 'resource';
  /** get, list, watch, create, update, patch, delete, deletecollection, proxy. */
  readonly verb: string;
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource: string;
  /** '' for cluster-scoped requests and for lists across all namespaces. */
  readonly namespace: string;
  readonly name: string;
  /** Segments after the subresource (`pods/x/proxy/<path…>`), joined with `/`. */
  readonly rest: string;
}

/** Discovery, OpenAPI, version, health and any other path that names no resource. */
export interface NonResourceRequest {
  readonly type: 'discovery' | 'openapi' | 'health' | 'nonresource';
  /** Lower-case method as a verb (get, post, put, patch, delete, head, options). */
  readonly verb: string;
  readonly path: string;
}

// Names of API groups, versions, resources and namespaces, as the API server validates them.
const GROUP = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VERSION = /^v[1-9][0-9]{0,3}((alpha|beta)[1-9][0-9]{0,3})?$/;
const RESOURCE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Object names are DNS subdomains for most kinds, but RBAC names may hold ':' (system:controller:…) and '@'.
const NAME = /^[A-Za-z0-9._:@~+=-]{1,253}$/;
const HEALTH = new Set(['healthz', 'livez', 'readyz']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const METHOD_VERBS: Record<string, string> = { GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function flag(q: Readonly<Record<string, string | string[]>>, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/**
 * Resolves one request. `path` is the decoded path after the connection
 * name (the pipeline already refused dot segments and encoded separators).
 * @throws ProxyError ERR_KUBE_BAD_PATH for empty segments or names the API server could never accept.
 */
export function requestInfo(method: string, path: string, query: Readonly<Record<string, string | string[]>>): RequestInfo {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const parts = trimmed === '/' ? [] : trimmed.slice(1).split('/');
  if (parts.some((p) => p === '')) throw new ProxyError('ERR_KUBE_BAD_PATH', 'the API path has an empty segment');
  const lower = method.toLowerCase();
  const head = parts[0] ?? '';
  if (head === 'openapi') return { type: 'openapi', verb: lower, path: trimmed };
  if (head === 'version' && parts.length === 1) return { type: 'discovery', verb: lower, path: trimmed };
  if (HEALTH.has(head)) return { type: 'health', verb: lower, path: trimmed };
  if (head === 'api' && parts.length <= 2) return discovery(lower, trimmed, parts.slice(1));
  if (head === 'apis' && parts.length <= 3) return discovery(lower, trimmed, parts.slice(1));
  if (head !== 'api' && head !== 'apis') return { type: 'nonresource', verb: lower, path: trimmed };

  const group = head === 'api' ? '' : (parts[1] ?? '');
  const version = head === 'api' ? (parts[1] ?? '') : (parts[2] ?? '');
  if (group !== '' && !GROUP.test(group)) throw new ProxyError('ERR_KUBE_BAD_PATH', 'the API group is not a valid group name');
  if (!VERSION.test(version)) throw new ProxyError('ERR_KUBE_BAD_PATH', 'the API version is not a valid version (v1, v1beta2, …)');
  let rest = parts.slice(head === 'api' ? 2 : 3);

  let verb = METHOD_VERBS[method.toUpperCase()];
  if (verb === undefined) throw new ProxyError('ERR_KUBE_BAD_METHOD', `the Kubernetes API has no verb for method ${method.slice(0, 16)}`);
  // Deprecated path prefixes the API server still resolves to these verbs (/api/v1/watch/…, /api/v1/proxy/…).
  if (rest[0] === 'watch' || rest[0] === 'proxy') {
    if (rest.length < 2) throw new ProxyError('ERR_KUBE_BAD_PATH', `/${rest[0]} needs a resource`);
    verb = rest[0];
    rest = rest.slice(1);
  }

  let namespace = '';
  if (rest[0] === 'namespaces') {
    if (rest.length > 1) {
      namespace = rest[1] ?? '';
      if (!NAMESPACE.test(namespace)) throw new ProxyError('ERR_KUBE_BAD_PATH', 'the namespace is not a valid namespace name');
      // /namespaces/<ns>/<resource>… is a namespaced resource; /namespaces/<ns>[/status|/finalize] is the namespace itself.
      if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) rest = rest.slice(2);
    }
  }
  const resource = rest[0] ?? '';
  const name = rest[1] ?? '';
  const subresource = rest[2] ?? '';
  if (!RESOURCE.test(resource)) throw new ProxyError('ERR_KUBE_BAD_PATH', 'the resource is not a valid resource name');
  if (name !== '' && !NAME.test(name)) throw new ProxyError('ERR_KUBE_BAD_PATH', 'the object name holds characters no Kubernetes name may hold');
  if (subresource !== '' && !RESOURCE.test(subresource)) throw new ProxyError('ERR_KUBE_BAD_PATH', 'the subresource is not a valid name');

  if (rest.length < 2) {
    if (verb === 'get') verb = 'list';
    else if (verb === 'delete') verb = 'deletecollection';
  }
  const watch = flag(query, 'watch');
  if ((watch === 'true' || watch === '1') && (verb === 'get' || verb === 'list')) verb = 'watch';
  // A fieldSelector on metadata.name makes a list or watch about one object (kubectl get -w NAME).
  let objectName = name;
  if ((verb === 'list' || verb === 'watch') && objectName === '') {
    const m = /(?:^|,)metadata\.name==?([^,]+)/.exec(flag(query, 'fieldSelector') ?? '');
    if (m?.[1] && NAME.test(m[1])) objectName = m[1];
  }
  // The namespace object's own namespace is itself (as the API server sets it), so `namespace == 'prod'` covers deleting prod.
  if (resource === 'namespaces' && namespace === '' && objectName !== '') namespace = NAMESPACE.test(objectName) ? objectName : '';
  return { type: 'resource', verb, group, version, resource, subresource, namespace, name: objectName, rest: rest.slice(3).join('/') };
}

function discovery(verb: string, path: string, rest: string[]): NonResourceRequest {
  const [groupOrVersion, version] = rest;
  if (groupOrVersion !== undefined && !GROUP.test(groupOrVersion)) throw new ProxyError('ERR_KUBE_BAD_PATH', 'the API group is not a valid group name');
  if (version !== undefined && !VERSION.test(version)) throw new ProxyError('ERR_KUBE_BAD_PATH', 'the API version is not a valid version (v1, v1beta2, …)');
  return { type: 'discovery', verb, path };
}
