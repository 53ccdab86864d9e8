import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { newEventId } from '@agentgate/events';
import { childFor, type LogContext, type Logger } from '@agentgate/log';
import { canHold, holdForApproval, type Released, type WithApprovals } from '../approvals/hold.js';
import { adapterFor } from '../adapters/index.js';
import { handleRegistryRoot, registryRoute } from '../adapters/registry/route.js';
import type { Adapter, AdapterRequest } from '../adapters/types.js';
import { ProxyError, toProxyError } from '../errors.js';
import { limitedBody } from '../lib/body-limit.js';
import { countRawHeader, upstreamRequestHeaders } from '../lib/headers.js';
import type { Lease } from '../lib/ports.js';
import { checkPathParams, parseTarget, upstreamPath } from '../lib/request-target.js';
import { sendError } from '../lib/respond.js';
import { decide, refusalOf } from './decide.js';
import { decideClassification, type PartsDecided } from './decide-parts.js';
import { correlate } from './correlate.js';
import { type ActionFacts, actionEvent } from './events.js';
import { injectCredential, leaseFor } from './lease.js';
import { DECODABLE_ENCODINGS } from './mask.js';
import { INTENT_UNACKED } from './record.js';
import { ResponseOwner } from './client-link.js';
import { relayResponse } from './relay-response.js';
import { streamResponse } from './respond-upstream.js';
import type { ProxyRuntime } from './runtime.js';
import { requestAnswered, responseMasked } from './telemetry.js';
import { endSpan, startStage } from '@agentgate/telemetry';

/**
 * One request through the pipeline:
 * authenticate → classify → decide → lease → record → forward → mask → record.
 * Every refusal before forwarding leaves the upstream untouched.
 */
export async function handleRequest(rt: ProxyRuntime & WithApprovals, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const started = process.hrtime.bigint();
  let ids: LogContext = { requestId };
  let child: Logger | undefined;
  // The child logger is built only when a line is written: pino children are not free, and most requests log nothing.
  const log = (): Logger => (child ??= childFor(rt.log, ids));
  let connectionName: string | undefined;
  let adapter: Adapter | undefined;
  let facts: ActionFacts | undefined;
  // Who writes the response head: the pipeline, or an adapter keeping a long request alive in band.
  const owner = new ResponseOwner(res, requestId);
  let authenticated = false;
  let requested = false;
  try {
    checkFraming(req, rt.config.gateway.limits.maxBodyBytes);
    // Registry clients speak only to /v2/ at the root: the ping and catalog are answered there, /v2/<connection>/… is routed.
    const registry = registryRoute(req.url, rt.connections);
    if (registry?.root) {
      await handleRegistryRoot(rt, req, res, registry.root);
      return;
    }
    const target = registry?.target ?? parseTarget(req.url);
    const connection = rt.connections.get(target.connection);
    if (!connection) throw new ProxyError('ERR_CONNECTION_UNKNOWN', `no connection named "${target.connection.slice(0, 64)}"`);
    connectionName = connection.name;
    checkPathParams(target, connection.requests.allowMatrixParams);
    adapter = adapterFor(connection.type);
    if (!adapter) throw new ProxyError('ERR_ADAPTER_MISSING', `connection "${connection.name}" is of type ${connection.type}, which has no adapter yet`);
    const maxBodyBytes = Math.min(connection.limits?.maxBodyBytes ?? Number.POSITIVE_INFINITY, rt.config.gateway.limits.maxBodyBytes);
    const contentLength = declaredLength(req);
    if (contentLength !== undefined && contentLength > maxBodyBytes) {
      throw new ProxyError('ERR_BODY_TOO_LARGE', `request body of ${contentLength} bytes exceeds the limit of ${maxBodyBytes} bytes`);
    }

    const { principal } = await rt.auth.authenticate(req, adapter.challenge ?? 'bearer');
    authenticated = true;
    const actionId = newEventId();
    ids = { requestId, sessionId: principal.sessionId, actionId };
    child = undefined;

    const body = limitedBody(req, maxBodyBytes);
    const areq: AdapterRequest = {
      method: req.method ?? 'GET',
      connection,
      rawPath: target.rawPath,
      path: target.path,
      rawQuery: target.rawQuery,
      query: target.query,
      headers: req.headers,
      contentLength,
      body,
      maxBodyBytes,
      principal,
      dataDir: rt.config.bus.dataDir,
      // The git adapter updates its mirror with the credential before deciding; failures refuse (fail closed).
      lease: () => leaseFor(rt.leases, connection),
      decide: (action) => decide(rt.policy, principal, { kind: action.kind, connection: connection.name, attributes: action.attributes }),
      peer: (name) => peerOf(rt, name),
      actionId,
      ...(rt.services && { services: rt.services }),
      client: owner,
    };
    // An adapter may classify per part (a push's ref updates): decideClassification decides each, all-or-nothing.
    const classified = await adapter.classify(areq);
    if (classified.failure) {
      // Not decided (the adapter could not tell what the action is): recorded as failed in the catch below, refused, never forwarded.
      facts = { actionId, requestId, principal, connection, classification: classified, decision: notDecided(classified.failure), req, urlPath: `/${connection.name}${target.path}`, observerName: rt.observerName };
      throw classified.failure;
    }
    // An adapter's own refusal (a secret in a prompt under promptSecrets: refuse) is a denial by its rule, recorded like a policy one.
    // A built-in allow (kubernetes discovery) is recorded under its rule like a policy one; policy is not asked.
    const decided: PartsDecided = classified.refusal
      ? { decision: { effect: 'deny', rule: classified.refusal.rule, reason: classified.refusal.reason }, classification: classified }
      : classified.allow
        ? { decision: { effect: 'allow', rule: classified.allow.rule, reason: classified.allow.reason }, classification: classified }
        : decideClassification(rt.policy, principal, connection.name, classified);
    const { decision } = decided;
    // Links the action to the llm exchange that proposed it (after deciding: per-ref audit fields are known then).
    const classification = await correlate(rt.services, principal, decided.classification, log);
    const upstreamUrl = new URL(connection.upstream);
    const forwardPath = upstreamPath(upstreamUrl, target.rawPath, '');
    facts = {
      actionId,
      requestId,
      principal,
      connection,
      classification,
      decision,
      req,
      urlPath: `/${connection.name}${target.path}`,
      // The raw path beside the decoded one: what the client sent and what the upstream gets, byte for byte.
      urlOriginal: `/${connection.name}${target.rawPath}`,
      urlFull: `${upstreamUrl.origin}${forwardPath}`,
      observerName: rt.observerName,
    };
    if (decision.evaluationError) log().warn({ rule: decision.rule, evaluationError: decision.evaluationError }, 'policy rule failed to evaluate');

    // A review is held whenever someone may decide; a per-part review (a push's ref) too: its parts' refusal is only
    // what the client gets when nobody can approve.
    const held = decision.effect === 'review' && canHold(rt.approvals);
    let released: Released | undefined;
    if (held && rt.approvals) {
      // Held for a human, bound to the exact action: the body is read before the hold, and exactly those bytes go on.
      released = await holdForApproval({
        approvals: rt.approvals,
        facts,
        req,
        res,
        request: { method: areq.method, path: target.path, rawQuery: target.rawQuery },
        body: classification.body !== undefined ? classification.body : contentLength === 0 || !hasBody(req) ? null : body,
        bodyDigest: classification.body !== undefined ? classification.bodyDigest : undefined,
        declaredLength: classification.body !== undefined ? undefined : contentLength,
        idleTimeoutMs: rt.config.gateway.limits.idleTimeoutMs,
        log,
      });
    } else if (decision.effect !== 'allow') {
      const refusal = decided.refusal ?? refusalOf(decision);
      // A denial is recorded too; it is refused whether or not the record lands (refusing is already the safe side).
      await rt.recorder.record(actionEvent(facts, 'denied')).catch((err: unknown) => log().error({ code: (err as { code?: string }).code }, 'denial not recorded'));
      log().info({ kind: classification.kind, rule: decision.rule, effect: decision.effect }, 'action refused by policy');
      throw refusal;
    }

    const lease = await leaseFor(rt.leases, connection);
    // A request whose client has gone is never forwarded: nobody would see the answer, and a push would land unseen.
    if (owner.gone.aborted) return abandoned(rt, facts, started);
    // Fail closed before anything goes upstream: a response that cannot be masked as configured is not fetched.
    const masker = await rt.responseMasker(connection, lease);
    // No record, no action: the intent must be stored before a byte goes upstream.
    const intentFacts = facts;
    await rt.recorder.recordIntent(actionEvent(facts, 'requested'), () =>
      actionEvent(intentFacts, 'failed', { outcome: 'failure', reason: INTENT_UNACKED, durationNs: Number(process.hrtime.bigint() - started) }),
    );
    requested = true;
    if (owner.gone.aborted) return abandoned(rt, facts, started);

    const headers = upstreamRequestHeaders(req.headers, connection.requests.forwardHeaders);
    adapter.upstreamHeaders?.(areq, classification, headers);
    restrictAcceptEncoding(headers, masker !== undefined);
    const fwdBody = released ? released.body : classification.body !== undefined ? classification.body : contentLength === 0 || !hasBody(req) ? null : body;
    const fwdLength = released ? released.length : classification.body !== undefined ? classification.bodyLength : contentLength;
    if (fwdLength !== undefined && fwdBody !== null) headers['content-length'] = String(fwdLength);
    if (lease && adapter.authorizeUpstream) await adapter.authorizeUpstream(areq, classification, lease, headers);
    else if (lease) injectCredential(headers, lease, connection.name);

    const abort = abortOnClientGone(owner.gone, fwdBody, classification.effect !== undefined);
    const upstreamStarted = process.hrtime.bigint();
    const upstream = await rt.forwarder.forward(
      connection,
      {
        method: areq.method,
        path: `${forwardPath}${target.rawQuery}`,
        headers,
        body: fwdBody,
        timeoutMs: connection.limits?.timeoutMs ?? rt.config.gateway.limits.upstreamIdleTimeoutMs,
        // A watch or a followed log may stay quiet for long: the upstream idle bound does not apply to its body.
        ...(classification.longRunning && { bodyTimeoutMs: 0 }),
        signal: abort.signal,
      },
      adapter.upstreamTls?.(connection, lease),
    );
    const ttfbNs = process.hrtime.bigint() - upstreamStarted;
    // Errors of the upstream body surface through stream.pipeline; this keeps a late abort from becoming uncaught.
    upstream.body.on('error', () => {});
    const early = owner.claim();
    classification.keepAlive?.stop();
    const relayed =
      early || classification.effect
        ? await relayResponse(rt, { res, upstream, masker, early, classification, connection: connection.name })
        : undefined;
    const maskSpan = masker && !relayed ? startStage('mask') : undefined;
    const outcome = relayed ?? (await streamResponse(rt, { req, res, upstream, masker, adapter, areq, classification, connection: connection.name, requestId }));
    endSpan(maskSpan, outcome.error);
    const durationNs = Number(process.hrtime.bigint() - started);
    const failed = outcome.error !== undefined || upstream.statusCode >= 500 || relayed?.effect?.outcome === 'failure';
    const reason = outcome.error?.message ?? relayed?.effect?.reason;
    rt.recorder.recordLater(
      actionEvent(facts, outcome.error ? 'failed' : 'completed', {
        durationNs,
        ...(failed && { outcome: 'failure' as const }),
        ...(reason !== undefined && { reason }),
        http: {
          request: { bytes: body.bytes },
          // What the client got: a refusal sent in place of the body (e.g. a decompression bomb) is not the upstream's 200.
          response: { status_code: outcome.clientStatus ?? upstream.statusCode, bytes: outcome.bytesOut },
        },
        ...(outcome.masking.count > 0 && { masking: outcome.masking }),
        labels: {
          upstream_ttfb_ms: Number(ttfbNs) / 1e6,
          upstream_bytes: outcome.bytesUpstream,
          upstream_status: upstream.statusCode,
          ...relayed?.effect?.labels,
          ...(relayed?.clientGone && { client_gone: true }),
          ...outcome.labels,
        },
        ...outcome.observed,
      }),
    );
    if (outcome.masking.count > 0) log().warn({ masked: outcome.masking.count, connection: connection.name }, 'secrets in the upstream response were masked');
    requestAnswered(connection.name, decision.effect, outcome.clientStatus ?? upstream.statusCode, started, upstreamStarted, ttfbNs);
    if (outcome.masking.count > 0) responseMasked(outcome.masking.findings);
  } catch (raw) {
    const err = toProxyError(raw);
    if (err.code === 'ERR_INTERNAL') log().error({ err: raw }, 'internal error');
    else log().info({ code: err.code, status: err.status, cause: causeCode(err.cause) }, 'request refused');
    // Nothing half-recorded: once `requested` is on the record, every failure after it is recorded too.
    if (facts && (requested || err.code === 'ERR_UPSTREAM_UNREACHABLE' || err.code === 'ERR_UPSTREAM_TIMEOUT' || err.code === 'ERR_CREDENTIAL_UNAVAILABLE' || err.code === 'ERR_MASKLIST_UNAVAILABLE')) {
      rt.recorder.recordLater(actionEvent(facts, 'failed', { reason: err.message, durationNs: Number(process.hrtime.bigint() - started) }));
    }
    // Refused before anyone was authenticated: no action event can name a principal, so it is counted as a refusal (aggregated).
    if (!authenticated) rt.refusals?.note({ ip: req.socket.remoteAddress, code: err.code, detail: causeCode(err.cause), connection: connectionName });
    // A body the adapter spooled and nobody forwards is closed now (its disk space comes back).
    discardBody(facts?.classification);
    const early = owner.claim();
    if (early) owner.refuse(early, err);
    else sendError(req, res, err, { connection: connectionName, requestId, adapter, classification: facts?.classification });
    requestAnswered(connectionName, facts?.decision.effect, res.statusCode, started);
  }
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
function abandoned(rt: ProxyRuntime, facts: ActionFacts, started: bigint): void {
  discardBody(facts.classification);
  const reason = 'the client disconnected before the request was forwarded; nothing was sent upstream';
  rt.recorder.recordLater(actionEvent(facts, 'failed', { outcome: 'failure', reason, durationNs: Number(process.hrtime.bigint() - started) }));
}

/**
 * Aborts the upstream request when the client goes away, except for an
 * action that changes state upstream (`Classification.effect`) whose body
 * has already gone upstream whole: it may have taken effect, so its answer
 * is read to the end and recorded. Until the body is whole, aborting is
 * safe: the upstream sees a truncated request (a git push then lands nothing).
 */
function abortOnClientGone(gone: AbortSignal, body: Readable | Buffer | null, effect: boolean): AbortController {
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
function checkFraming(req: IncomingMessage, _max: number): void {
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
function restrictAcceptEncoding(headers: Record<string, string | string[]>, masking: boolean): void {
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
