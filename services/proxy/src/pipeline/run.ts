import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Principal } from '@agentgate/events';
import type { Masker } from '@agentgate/masking';
import type { Dispatcher } from 'undici';
import { canHold, holdForApproval, type Released, type WithApprovals } from '../approvals/hold.js';
import { adapterFor } from '../adapters/index.js';
import { handleRegistryRoot, registryRoute } from '../adapters/registry/route.js';
import type { Adapter, AdapterRequest, Classification, Connection } from '../adapters/types.js';
import { ProxyError, toProxyError } from '../errors.js';
import { type ByteLimit, limitedBody } from '../lib/body-limit.js';
import { countRawHeader, upstreamRequestHeaders } from '../lib/headers.js';
import type { Lease } from '../lib/ports.js';
import { checkPathParams, parseTarget, type RequestTarget, upstreamPath } from '../lib/request-target.js';
import { sendError } from '../lib/respond.js';
import { type Admission, admitClient, adapterRequestHead } from './admit.js';
import { refusalOf } from './decide.js';
import { decideClassification, type PartsDecided } from './decide-parts.js';
import { correlate } from './correlate.js';
import { type ActionFacts, actionEvent } from './events.js';
import { injectCredential, leaseFor } from './lease.js';
import { DECODABLE_ENCODINGS } from './mask.js';
import { INTENT_UNACKED } from './record.js';
import { ResponseOwner } from './client-link.js';
import { type RelayOutcome, relayResponse } from './relay-response.js';
import { type ResponseOutcome, streamResponse } from './respond-upstream.js';
import { RequestState } from './request-state.js';
import type { ProxyRuntime } from './runtime.js';
import { requestAnswered, responseMasked } from './telemetry.js';
import { endSpan, startStage } from '@agentgate/telemetry';

/** The request being handled and who answers it: what every stage reads. */
export interface RequestContext {
  readonly rt: ProxyRuntime & WithApprovals;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly st: RequestState;
  /** Who writes the response head: the pipeline, or an adapter keeping a long request alive in band. */
  readonly owner: ResponseOwner;
}

/** Where a request goes, known before anyone is authenticated. */
export interface Routed {
  readonly target: RequestTarget;
  readonly connection: Connection;
  readonly adapter: Adapter;
  /** The smaller of the connection's and the gateway's body bound. */
  readonly maxBodyBytes: number;
  /** Content-Length as declared (undefined: chunked or none). */
  readonly contentLength: number | undefined;
}

/** An authenticated request as adapters see it, with its bounded body. */
export interface Admitted {
  readonly areq: AdapterRequest;
  readonly actionId: string;
  readonly body: ByteLimit;
}

/** A classified and decided action, linked to its exchange, with its audit facts. */
export interface Decided {
  readonly decided: PartsDecided;
  readonly classification: Classification;
  readonly facts: ActionFacts;
  /** Path of the upstream request, without the query. */
  readonly forwardPath: string;
}

/** What the upstream request needs once the action is allowed and its intent recorded. */
export interface Prepared {
  readonly lease: Lease | undefined;
  readonly masker: Masker | undefined;
}

/** The upstream's answer, and how long its head took. */
export interface Forwarded {
  readonly upstream: Dispatcher.ResponseData;
  /** When the request went upstream (the gateway's own time ends there, for the added-latency metric). */
  readonly forwardedAt: bigint;
  readonly ttfbNs: bigint;
}

/** What the client got: the relay's (an early response, an effect) or the streamed response's. */
export interface Responded {
  readonly outcome: ResponseOutcome;
  readonly relayed: RelayOutcome | undefined;
}

/**
 * One request through the pipeline:
 * authenticate → classify → decide → lease → record → forward → mask → record.
 * Every refusal before forwarding leaves the upstream untouched. Each step is
 * a named stage below; the request's state lives in `RequestState`.
 */
export async function handleRequest(rt: ProxyRuntime & WithApprovals, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const st = new RequestState(rt.log);
  const cx: RequestContext = { rt, req, res, st, owner: new ResponseOwner(res, st.requestId) };
  try {
    const routed = await routeRequest(cx);
    if (!routed) return;
    const admitted = await admitRequest(cx, routed);
    const decided = await classifyAndDecide(cx, routed, admitted);
    const released = await holdOrRefuse(cx, routed, admitted, decided);
    const prepared = await prepareForward(cx, routed, decided);
    if (!prepared) return;
    const forwarded = await forwardUpstream(cx, routed, admitted, decided, prepared, released);
    const responded = await respond(cx, routed, admitted, decided, prepared, forwarded);
    recordOutcome(cx, routed, admitted, decided, forwarded, responded);
  } catch (raw) {
    failRequest(cx, raw);
  }
}

/**
 * Stage 1, before authentication: framing checks, the registry's root, the
 * connection and its adapter, and the declared body size against the bound.
 * Returns undefined when the request was answered here (the registry root).
 */
export async function routeRequest(cx: RequestContext): Promise<Routed | undefined> {
  const { rt, req, res, st } = cx;
  checkFraming(req);
  // Registry clients speak only to /v2/ at the root: the ping and catalog are answered there, /v2/<connection>/… is routed.
  const registry = registryRoute(req.url, rt.connections);
  if (registry?.root) {
    await handleRegistryRoot(rt, req, res, registry.root);
    return undefined;
  }
  const target = registry?.target ?? parseTarget(req.url);
  const connection = rt.connections.get(target.connection);
  if (!connection) throw new ProxyError('ERR_CONNECTION_UNKNOWN', `no connection named "${target.connection.slice(0, 64)}"`);
  st.connectionName = connection.name;
  checkPathParams(target, connection.requests.allowMatrixParams);
  const adapter = adapterFor(connection.type);
  st.adapter = adapter;
  if (!adapter) throw new ProxyError('ERR_ADAPTER_MISSING', `connection "${connection.name}" is of type ${connection.type}, which has no adapter yet`);
  const maxBodyBytes = Math.min(connection.limits?.maxBodyBytes ?? Number.POSITIVE_INFINITY, rt.config.gateway.limits.maxBodyBytes);
  const contentLength = declaredLength(req);
  if (contentLength !== undefined && contentLength > maxBodyBytes) {
    throw new ProxyError('ERR_BODY_TOO_LARGE', `request body of ${contentLength} bytes exceeds the limit of ${maxBodyBytes} bytes`);
  }
  return { target, connection, adapter, maxBodyBytes, contentLength };
}

/** Stage 2: authenticates the client and builds the request adapters see (its body bounded, not yet read). */
export async function admitRequest(cx: RequestContext, routed: Routed): Promise<Admitted> {
  const { rt, req, st } = cx;
  const admission = await admitClient(rt, req, st, routed.adapter);
  const body = limitedBody(req, routed.maxBodyBytes);
  return { areq: adapterRequest(cx, routed, admission, body), actionId: admission.actionId, body };
}

function adapterRequest(cx: RequestContext, routed: Routed, admission: Admission, body: ByteLimit): AdapterRequest {
  const { rt, req } = cx;
  const { target, connection } = routed;
  return {
    ...adapterRequestHead(rt, req, target, connection, admission),
    contentLength: routed.contentLength,
    body,
    maxBodyBytes: routed.maxBodyBytes,
    dataDir: rt.config.bus.dataDir,
    // The git adapter updates its mirror with the credential before deciding; failures refuse (fail closed).
    lease: () => leaseFor(rt.leases, connection),
    peer: (name) => peerOf(rt, name),
    client: cx.owner,
  };
}

/**
 * Stage 3: the adapter classifies (per part, for a push's ref updates:
 * decided all-or-nothing), policy decides unless the adapter already did,
 * and the action is linked to the llm exchange that proposed it. Sets the
 * request's audit facts, also for an action the adapter could not classify
 * (then thrown: recorded as failed, refused, never forwarded).
 */
export async function classifyAndDecide(cx: RequestContext, routed: Routed, admitted: Admitted): Promise<Decided> {
  const { rt, req, st } = cx;
  const { connection, target } = routed;
  const { areq } = admitted;
  const classified = await routed.adapter.classify(areq);
  const base = {
    actionId: admitted.actionId,
    requestId: st.requestId,
    principal: areq.principal,
    connection,
    req,
    urlPath: `/${connection.name}${target.path}`,
    observerName: rt.observerName,
  };
  if (classified.failure) {
    st.facts = { ...base, classification: classified, decision: notDecided(classified.failure) };
    throw classified.failure;
  }
  const decided = decideClassified(rt, areq.principal, connection.name, classified);
  const { decision } = decided;
  // Links the action to the llm exchange that proposed it (after deciding: per-ref audit fields are known then).
  const classification = await correlate(rt.services, areq.principal, decided.classification, st.log);
  const upstreamUrl = upstreamOf(connection.upstream);
  const forwardPath = upstreamPath(upstreamUrl, target.rawPath, '');
  const facts: ActionFacts = {
    ...base,
    classification,
    decision,
    // The raw path beside the decoded one: what the client sent and what the upstream gets, byte for byte.
    urlOriginal: `/${connection.name}${target.rawPath}`,
    urlFull: `${upstreamUrl.origin}${forwardPath}`,
  };
  st.facts = facts;
  if (decision.evaluationError) st.log().warn({ rule: decision.rule, evaluationError: decision.evaluationError }, 'policy rule failed to evaluate');
  return { decided, classification, facts, forwardPath };
}

/**
 * The decision of a classified action. An adapter's own refusal (a secret in
 * a prompt under promptSecrets: refuse) is a denial by its rule, and a
 * built-in allow (kubernetes discovery) an allow by its rule, both recorded
 * like a policy one; otherwise policy decides.
 */
export function decideClassified(rt: Pick<ProxyRuntime, 'policy'>, principal: Principal, connection: string, classified: Classification): PartsDecided {
  if (classified.refusal) return { decision: { effect: 'deny', rule: classified.refusal.rule, reason: classified.refusal.reason }, classification: classified };
  if (classified.allow) return { decision: { effect: 'allow', rule: classified.allow.rule, reason: classified.allow.reason }, classification: classified };
  return decideClassification(rt.policy, principal, connection, classified);
}

/**
 * Stage 4: a review is held for a human whenever someone may decide (a
 * per-part review too: its parts' refusal is only what the client gets when
 * nobody can approve); anything else not allowed is recorded as denied and
 * refused. Returns the approved body of a released hold.
 */
export async function holdOrRefuse(cx: RequestContext, routed: Routed, admitted: Admitted, d: Decided): Promise<Released | undefined> {
  const { rt, req, res, st } = cx;
  const { decision } = d.decided;
  if (decision.effect === 'review' && canHold(rt.approvals)) {
    const c = d.classification;
    const spooled = c.body !== undefined;
    // Held for a human, bound to the exact action: the body is read before the hold, and exactly those bytes go on.
    return holdForApproval({
      approvals: rt.approvals,
      facts: d.facts,
      req,
      res,
      request: { method: admitted.areq.method, path: routed.target.path, rawQuery: routed.target.rawQuery },
      body: requestBody(req, c, routed.contentLength, admitted.body),
      bodyDigest: spooled ? c.bodyDigest : undefined,
      declaredLength: spooled ? undefined : routed.contentLength,
      idleTimeoutMs: rt.config.gateway.limits.idleTimeoutMs,
      log: st.log,
    });
  }
  if (decision.effect === 'allow') return undefined;
  const refusal = d.decided.refusal ?? refusalOf(decision);
  // A denial is recorded too; it is refused whether or not the record lands (refusing is already the safe side).
  await rt.recorder
    .record(actionEvent(d.facts, 'denied'))
    .catch((err: unknown) => st.log().error({ code: (err as { code?: string }).code }, 'denial not recorded'));
  st.log().info({ kind: d.classification.kind, rule: decision.rule, effect: decision.effect }, 'action refused by policy');
  throw refusal;
}

/**
 * Stage 5: the credential's lease, the response masker (fail closed: a
 * response that cannot be masked as configured is not fetched) and the
 * intent on the record (no record, no action). Returns undefined when the
 * client went away first: recorded, and nothing goes upstream.
 */
export async function prepareForward(cx: RequestContext, routed: Routed, d: Decided): Promise<Prepared | undefined> {
  const { rt, owner, st } = cx;
  const lease = await leaseFor(rt.leases, routed.connection);
  // A request whose client has gone is never forwarded: nobody would see the answer, and a push would land unseen.
  if (owner.gone.aborted) return abandoned(rt, st, d.facts);
  const masker = await rt.responseMasker(routed.connection, lease);
  await rt.recorder.recordIntent(actionEvent(d.facts, 'requested'), () =>
    actionEvent(d.facts, 'failed', { outcome: 'failure', reason: INTENT_UNACKED, durationNs: st.elapsedNs() }),
  );
  st.requested = true;
  if (owner.gone.aborted) return abandoned(rt, st, d.facts);
  return { lease, masker };
}

/**
 * Stage 6: the upstream request: the forwarded headers (the adapter's, the
 * codings the gateway can decode, the credential) and the body (the
 * approved bytes, the adapter's rewritten body, or the client's stream),
 * aborted when the client goes (see abortOnClientGone).
 */
export async function forwardUpstream(
  cx: RequestContext,
  routed: Routed,
  admitted: Admitted,
  d: Decided,
  p: Prepared,
  released: Released | undefined,
): Promise<Forwarded> {
  const { rt, req, owner } = cx;
  const { connection, adapter, target } = routed;
  const { areq } = admitted;
  const c = d.classification;
  const headers = upstreamRequestHeaders(req.headers, connection.requests.forwardHeaders);
  adapter.upstreamHeaders?.(areq, c, headers);
  restrictAcceptEncoding(headers, p.masker !== undefined);
  const body = released ? released.body : requestBody(req, c, routed.contentLength, admitted.body);
  const length = released ? released.length : c.body !== undefined ? c.bodyLength : routed.contentLength;
  if (length !== undefined && body !== null) headers['content-length'] = String(length);
  if (p.lease && adapter.authorizeUpstream) await adapter.authorizeUpstream(areq, c, p.lease, headers);
  else if (p.lease) injectCredential(headers, p.lease, connection.name);
  const abort = abortOnClientGone(owner.gone, body, c.effect !== undefined);
  const started = process.hrtime.bigint();
  const request = {
    method: areq.method,
    path: `${d.forwardPath}${target.rawQuery}`,
    headers,
    body,
    timeoutMs: connection.limits?.timeoutMs ?? rt.config.gateway.limits.upstreamIdleTimeoutMs,
    // A watch or a followed log may stay quiet for long: the upstream idle bound does not apply to its body.
    ...(c.longRunning && { bodyTimeoutMs: 0 }),
    signal: abort.signal,
  };
  const upstream = await rt.forwarder.forward(connection, request, adapter.upstreamTls?.(connection, p.lease));
  const ttfbNs = process.hrtime.bigint() - started;
  // Errors of the upstream body surface through stream.pipeline; this keeps a late abort from becoming uncaught.
  upstream.body.on('error', () => {});
  return { upstream, forwardedAt: started, ttfbNs };
}

/**
 * Stage 7: the response to the client. An adapter's early response (kept
 * alive in band) or an action with an upstream effect is relayed
 * (relay-response.ts); anything else is streamed, masked
 * (respond-upstream.ts).
 */
export async function respond(cx: RequestContext, routed: Routed, admitted: Admitted, d: Decided, p: Prepared, f: Forwarded): Promise<Responded> {
  const { rt, req, res, owner, st } = cx;
  const { upstream } = f;
  const { masker } = p;
  const classification = d.classification;
  const connection = routed.connection.name;
  const early = owner.claim();
  classification.keepAlive?.stop();
  const relayed = early || classification.effect ? await relayResponse(rt, { res, upstream, masker, early, classification, connection }) : undefined;
  const maskSpan = masker && !relayed ? startStage('mask') : undefined;
  const outcome =
    relayed ??
    (await streamResponse(rt, {
      req,
      res,
      upstream,
      masker,
      adapter: routed.adapter,
      areq: admitted.areq,
      classification,
      connection,
      requestId: st.requestId,
    }));
  endSpan(maskSpan, outcome.error);
  return { outcome, relayed };
}

/** Stage 8: the action's last event (completed, or failed when the response broke off), recorded in the background. */
export function recordOutcome(cx: RequestContext, routed: Routed, admitted: Admitted, d: Decided, f: Forwarded, r: Responded): void {
  const { rt, st } = cx;
  const { outcome, relayed } = r;
  const { upstream } = f;
  const failed = outcome.error !== undefined || upstream.statusCode >= 500 || relayed?.effect?.outcome === 'failure';
  const reason = outcome.error?.message ?? relayed?.effect?.reason;
  rt.recorder.recordLater(
    actionEvent(d.facts, outcome.error ? 'failed' : 'completed', {
      durationNs: st.elapsedNs(),
      ...(failed && { outcome: 'failure' as const }),
      ...(reason !== undefined && { reason }),
      http: {
        request: { bytes: admitted.body.bytes },
        // What the client got: a refusal sent in place of the body (e.g. a decompression bomb) is not the upstream's 200.
        response: { status_code: outcome.clientStatus ?? upstream.statusCode, bytes: outcome.bytesOut },
      },
      ...(outcome.masking.count > 0 && { masking: outcome.masking }),
      labels: {
        upstream_ttfb_ms: Number(f.ttfbNs) / 1e6,
        upstream_bytes: outcome.bytesUpstream,
        upstream_status: upstream.statusCode,
        ...relayed?.effect?.labels,
        ...(relayed?.clientGone && { client_gone: true }),
        ...outcome.labels,
      },
      ...outcome.observed,
    }),
  );
  if (outcome.masking.count > 0)
    st.log().warn({ masked: outcome.masking.count, connection: routed.connection.name }, 'secrets in the upstream response were masked');
  requestAnswered(routed.connection.name, d.facts.decision.effect, outcome.clientStatus ?? upstream.statusCode, st.started, f.forwardedAt, f.ttfbNs);
  if (outcome.masking.count > 0) responseMasked(outcome.masking.findings);
}

/** Failures recorded as the action's last event even when its intent was never recorded: the action was allowed, then could not be sent. */
const RECORDED_BEFORE_INTENT = new Set(['ERR_UPSTREAM_UNREACHABLE', 'ERR_UPSTREAM_TIMEOUT', 'ERR_CREDENTIAL_UNAVAILABLE', 'ERR_MASKLIST_UNAVAILABLE']);

/**
 * Any stage's failure: logged, recorded when the action is on the record
 * (nothing half-recorded), counted as a refusal when nobody was
 * authenticated, a spooled body closed, and the client answered (in the
 * adapter's framing when its early response already went out).
 */
export function failRequest(cx: RequestContext, raw: unknown): void {
  const { rt, req, res, st, owner } = cx;
  const err = toProxyError(raw);
  if (err.code === 'ERR_INTERNAL') st.log().error({ err: raw }, 'internal error');
  else st.log().info({ code: err.code, status: err.status, cause: causeCode(err.cause) }, 'request refused');
  // Nothing half-recorded: once `requested` is on the record, every failure after it is recorded too.
  if (st.facts && (st.requested || RECORDED_BEFORE_INTENT.has(err.code))) {
    rt.recorder.recordLater(actionEvent(st.facts, 'failed', { reason: err.message, durationNs: st.elapsedNs() }));
  }
  // Refused before anyone was authenticated: no action event can name a principal, so it is counted as a refusal (aggregated).
  if (!st.authenticated) rt.refusals?.note({ ip: req.socket.remoteAddress, code: err.code, detail: causeCode(err.cause), connection: st.connectionName });
  // A body the adapter spooled and nobody forwards is closed now (its disk space comes back).
  discardBody(st.facts?.classification);
  const early = owner.claim();
  if (early) owner.refuse(early, err);
  else sendError(req, res, err, { connection: st.connectionName, requestId: st.requestId, adapter: st.adapter, classification: st.facts?.classification });
  requestAnswered(st.connectionName, st.facts?.decision.effect, res.statusCode, st.started);
}

// Parsed upstream URLs, one per connection's upstream (read only: origin and path prefix).
const upstreamUrls = new Map<string, Pick<URL, 'origin' | 'pathname'>>();

function upstreamOf(upstream: string): Pick<URL, 'origin' | 'pathname'> {
  let u = upstreamUrls.get(upstream);
  if (!u) {
    const url = new URL(upstream);
    u = { origin: url.origin, pathname: url.pathname };
    // Connections come from the configuration: a handful; the bound only guards against a misuse.
    if (upstreamUrls.size > 1000) upstreamUrls.clear();
    upstreamUrls.set(upstream, u);
  }
  return u;
}

/** The body that goes upstream (or into a hold): the adapter's rewritten one, none, or the client's stream. */
function requestBody(req: IncomingMessage, c: Classification, contentLength: number | undefined, body: ByteLimit): Readable | Buffer | null {
  if (c.body !== undefined) return c.body;
  return contentLength === 0 || !hasBody(req) ? null : body;
}

function discardBody(c: ActionFacts['classification'] | undefined): void {
  if (c?.body instanceof Readable && !c.body.readableEnded) c.body.destroy();
}

/** A connection an adapter reads through (the forge's git connection), with a lease of its credential. */
function peerOf(rt: ProxyRuntime, name: string): ReturnType<NonNullable<AdapterRequest['peer']>> {
  const c = rt.connections.get(name);
  return c && { connection: c, lease: () => leaseFor(rt.leases, c) };
}

/** The decision recorded for an action the adapter could not classify: refused (fail closed), by no rule. */
function notDecided(failure: ProxyError): ActionFacts['decision'] {
  return { effect: 'deny', rule: null, reason: `not decided: ${failure.message}` };
}

/** The client left before anything was forwarded: recorded, and nothing goes upstream. */
function abandoned(rt: ProxyRuntime, st: RequestState, facts: ActionFacts): undefined {
  discardBody(facts.classification);
  const reason = 'the client disconnected before the request was forwarded; nothing was sent upstream';
  rt.recorder.recordLater(actionEvent(facts, 'failed', { outcome: 'failure', reason, durationNs: st.elapsedNs() }));
  return undefined;
}

/**
 * Aborts the upstream request when the client goes away, except for an
 * action that changes state upstream (`Classification.effect`) whose body
 * has already gone upstream whole: it may have taken effect, so its answer
 * is read to the end and recorded. Until the body is whole, aborting is
 * safe: the upstream sees a truncated request (a git push then lands nothing).
 */
export function abortOnClientGone(gone: AbortSignal, body: Readable | Buffer | null, effect: boolean): { readonly signal: AbortSignal } {
  // No effect and no body still streaming: the request is aborted exactly when the client goes, so its own
  // signal serves (one AbortController and one listener fewer per request on the common path).
  if (!effect && !(body instanceof Readable)) return { signal: gone };
  const abort = new AbortController();
  let bodySent = !(body instanceof Readable);
  if (body instanceof Readable) body.once('end', () => (bodySent = true));
  const onGone = (): void => {
    if (!(effect && bodySent)) abort.abort();
  };
  if (gone.aborted) onGone();
  else gone.addEventListener('abort', onGone, { once: true });
  return abort;
}

/** Framing checks node's parser leaves to us (it already rejects most CL/TE conflicts itself). */
export function checkFraming(req: Pick<IncomingMessage, 'headers' | 'rawHeaders'>): void {
  // Both headers: a smuggling attempt (RFC 9112 §6.1); refuse instead of picking one.
  if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] !== undefined) {
    throw new ProxyError('ERR_BAD_REQUEST', 'both Content-Length and Transfer-Encoding are present');
  }
  // Two Hosts: node keeps the first, another hop may route on the second.
  if (countRawHeader(req.rawHeaders, 'host') > 1) throw new ProxyError('ERR_BAD_REQUEST', 'more than one Host header');
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') {
    throw new ProxyError('ERR_BAD_REQUEST', 'only Transfer-Encoding: chunked is accepted');
  }
}

function declaredLength(req: IncomingMessage): number | undefined {
  const cl = req.headers['content-length'];
  if (cl === undefined) return undefined;
  if (!/^\d{1,15}$/.test(cl)) throw new ProxyError('ERR_BAD_REQUEST', 'invalid Content-Length');
  return Number(cl);
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** Offers upstream only codings the gateway can decode, so every masked body can be inspected. */
export function restrictAcceptEncoding(headers: Record<string, string | string[]>, masking: boolean): void {
  if (!masking || headers['accept-encoding'] === undefined) return;
  const asked = String(headers['accept-encoding']).toLowerCase();
  const ok = DECODABLE_ENCODINGS.split(', ').filter((c) => asked.includes(c));
  if (ok.length > 0) headers['accept-encoding'] = ok.join(', ');
  else delete headers['accept-encoding'];
}

function causeCode(cause: unknown): string | undefined {
  const c = (cause as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}
