import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { newEventId, type Principal } from '@agentgate/events';
import { ProxyError, toProxyError } from '../../errors.js';
import { sendError } from '../../lib/respond.js';
import { decide, refusalOf } from '../../pipeline/decide.js';
import { type ActionFacts, actionEvent } from '../../pipeline/events.js';
import { leaseFor } from '../../pipeline/lease.js';
import { INTENT_UNACKED } from '../../pipeline/record.js';
import type { ProxyRuntime } from '../../pipeline/runtime.js';
import type { Classification } from '../types.js';
import { registryAdapter } from './index.js';
import { isRepositoryName } from './names.js';
import { API_VERSION_HEADER } from './render.js';
import type { RegistryRoot } from './route.js';
import { type RegistryConnection, readBounded, upstreamCall } from './upstream.js';

const MAX_CATALOG_BYTES = 4 * 1024 * 1024;
const CATALOG_PAGE = 1000;

/**
 * Answers the registry API's root, which names no connection: `GET /v2/`
 * (the auth ping: 401 with a Basic challenge until the client sends its CI
 * token, so `docker login gateway -u oidc -p "$OIDC_TOKEN"` works; 200
 * after), `GET /v2/_catalog`, and `/v2/<name>/…` for a name that is no
 * registry connection (after authentication, so connection names are not
 * disclosed to anonymous callers). Every refusal is in the registry's
 * error format.
 */
export async function handleRegistryRoot(rt: ProxyRuntime, req: IncomingMessage, res: ServerResponse, root: RegistryRoot): Promise<void> {
  const requestId = randomUUID();
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ProxyError('ERR_METHOD_NOT_ALLOWED', 'the registry root answers GET and HEAD only');
    const { principal } = await rt.auth.authenticate(req, 'basic');
    if (root.what === 'unknown') {
      throw new ProxyError('ERR_CONNECTION_UNKNOWN', 'no registry connection by that name: images are named <gateway>/<connection>/<repository>');
    }
    if (root.what === 'ping') {
      send(req, res, 200, {});
      return;
    }
    const repositories = await catalog(rt, req, principal, requestId);
    send(req, res, 200, { repositories });
  } catch (raw) {
    const err = toProxyError(raw);
    if (err.code === 'ERR_INTERNAL') rt.log.error({ err: raw, requestId }, 'internal error at the registry root');
    sendError(req, res, err, { connection: undefined, requestId, adapter: registryAdapter });
  }
}

function send(req: IncomingMessage, res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...API_VERSION_HEADER,
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}

/**
 * The catalog across the registry connections policy lets this principal
 * list (`registry.catalog` decided per connection), each repository named
 * as the client pulls it (`<connection>/<repository>`). Connections it may
 * not list are left out and recorded as denied; when it may list none, the
 * request is refused. At most 1000 repositories per connection (no
 * pagination across connections).
 */
async function catalog(rt: ProxyRuntime, req: IncomingMessage, principal: Principal, requestId: string): Promise<string[]> {
  const connections = [...rt.connections.values()].filter((c): c is RegistryConnection => c.type === 'registry');
  const classification: Classification = { kind: 'registry.catalog', attributes: { target: 'catalog', operation: 'read' } };
  const out: string[] = [];
  let allowed = 0;
  let refusal: ProxyError = new ProxyError('ERR_POLICY_DENIED', 'no registry connection is configured');
  for (const connection of connections) {
    const decision = decide(rt.policy, principal, { kind: classification.kind, connection: connection.name, attributes: classification.attributes });
    const facts: ActionFacts = {
      actionId: newEventId(),
      requestId,
      principal,
      connection,
      classification,
      decision,
      req,
      urlPath: `/${connection.name}/v2/_catalog`,
      observerName: rt.observerName,
    };
    if (decision.effect !== 'allow') {
      refusal = refusalOf(decision);
      await rt.recorder.record(actionEvent(facts, 'denied')).catch(() => rt.log.error({ requestId }, 'catalog denial not recorded'));
      continue;
    }
    allowed++;
    const lease = await leaseFor(rt.leases, connection);
    // The names are masked like any upstream answer (the connection's maskResponses); fail closed before going upstream.
    const masker = await rt.responseMasker(connection, lease);
    const started = process.hrtime.bigint();
    await rt.recorder.recordIntent(actionEvent(facts, 'requested'), () => actionEvent(facts, 'failed', { outcome: 'failure', reason: INTENT_UNACKED }));
    try {
      const names = await upstreamCatalog(connection, lease);
      for (const n of names) out.push(`${connection.name}/${masker ? masker.maskText(n).text : n}`);
      rt.recorder.recordLater(
        actionEvent(facts, 'completed', {
          durationNs: Number(process.hrtime.bigint() - started),
          http: { response: { status_code: 200 } },
          labels: { repositories: names.length },
        }),
      );
    } catch (err) {
      const e = toProxyError(err);
      rt.recorder.recordLater(actionEvent(facts, 'failed', { reason: e.message, durationNs: Number(process.hrtime.bigint() - started) }));
      throw e;
    }
  }
  if (allowed === 0) throw refusal;
  return out.sort();
}

async function upstreamCatalog(conn: RegistryConnection, lease: Awaited<ReturnType<typeof leaseFor>>): Promise<string[]> {
  const res = await upstreamCall(conn, lease, { method: 'GET', apiPath: '/v2/_catalog', rawQuery: `?n=${CATALOG_PAGE}`, scopes: ['registry:catalog:*'] });
  if (res.statusCode !== 200) {
    await res.body.dump().catch(() => {});
    throw new ProxyError('ERR_UPSTREAM_FAILED', `connection "${conn.name}": the registry answered the catalog with ${res.statusCode}`);
  }
  const body = await readBounded(res.body, MAX_CATALOG_BYTES, conn);
  let parsed: { repositories?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    throw new ProxyError('ERR_UPSTREAM_FAILED', `connection "${conn.name}": the registry's catalog is not JSON`);
  }
  if (!Array.isArray(parsed.repositories))
    throw new ProxyError('ERR_UPSTREAM_FAILED', `connection "${conn.name}": the registry's catalog has no repositories list`);
  return parsed.repositories.filter((r): r is string => typeof r === 'string' && isRepositoryName(r));
}
