import { type ClientRequest, type IncomingMessage, request as httpRequest, STATUS_CODES } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type { Masker } from '@agentgate/masking';
import { adapterFor } from '../adapters/index.js';
import type { Adapter, AdapterRequest, Classification, Connection, SessionSpec, SessionSummary } from '../adapters/types.js';
import { ProxyError, toProxyError } from '../errors.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../lib/headers.js';
import type { Lease } from '../lib/ports.js';
import { parseTarget, type RequestTarget, upstreamPath } from '../lib/request-target.js';
import { errorBody } from '../lib/respond.js';
import { admitClient, adapterRequestHead } from './admit.js';
import { refusalOf } from './decide.js';
import { decideClassification, type PartsDecided } from './decide-parts.js';
import { type ActionFacts, actionEvent } from './events.js';
import { tlsFailure } from './forward.js';
import { injectCredential, leaseFor } from './lease.js';
import { maskHeaders, mergeFindings } from './mask.js';
import { RequestState } from './request-state.js';
import type { ProxyRuntime } from './runtime.js';
import { relaySession } from './ws-relay.js';

/** Largest WebSocket frame relayed (a frame is parsed whole to be masked and recorded). */
const MAX_FRAME = 16 * 1024 * 1024;
/** Bytes of a refused upgrade's response body relayed to the client (an error Status is small). */
const MAX_REFUSAL_BODY = 64 * 1024;

/**
 * A protocol upgrade through the pipeline: the same authenticate →
 * classify → decide → lease → record steps as any request, then the
 * handshake is forwarded and, once the upstream switched protocols, the
 * session is relayed (ws-relay.ts: both directions counted and recorded,
 * masked and bounded) and recorded as completed when it ends. Only
 * WebSocket, only for adapters that declare `upgrades: true`; everything
 * else keeps the 501 (a tunnel the gateway cannot read would bypass
 * classification and masking). A `review` cannot be held on a raw socket:
 * it is refused as "approval required".
 */
export async function handleUpgrade(rt: ProxyRuntime, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const st = new RequestState(rt.log);
  socket.on('error', () => socket.destroy());
  try {
    const routed = routeUpgrade(rt, req, st);
    const areq = await admitUpgrade(rt, req, st, routed);
    const decided = await decideUpgrade(rt, req, st, routed, areq);
    const prepared = await prepareUpgrade(rt, st, routed, decided);
    const up = upstreamUpgrade(rt, req, routed, areq, decided, prepared);
    const spec = (protocol: string): SessionSpec =>
      routed.adapter.session?.(areq, decided.classification, protocol) ?? {
        recordBytes: 0,
        audit: (s) => ({ labels: { session_protocol: s.protocol, session_end: s.end } }),
      };
    const summary = await handshake(up, { socket, head, masker: prepared.masker, spec, connection: routed.connection.name });
    recordSession(rt, st, decided.facts, summary);
  } catch (raw) {
    failUpgrade(rt, socket, st, raw);
  }
}

/** Where an upgrade goes: a connection whose adapter relays upgrades, or ERR_UPGRADE_UNSUPPORTED. */
interface UpgradeRoute {
  readonly target: RequestTarget;
  readonly connection: Connection;
  readonly adapter: Adapter;
}

/** The upgrade's decided action and its audit facts. */
interface UpgradeDecided {
  readonly classification: Classification;
  readonly facts: ActionFacts;
}

/** The upgrade's credential and the masker of its session's output. */
interface UpgradePrepared {
  readonly lease: Lease | undefined;
  readonly masker: Masker | undefined;
}

/** Stage 1: the connection, and an adapter that relays upgrades (`upgrades: true`). */
function routeUpgrade(rt: ProxyRuntime, req: IncomingMessage, st: RequestState): UpgradeRoute {
  const target = parseTarget(req.url);
  const connection = rt.connections.get(target.connection);
  const adapter = connection ? adapterFor(connection.type) : undefined;
  st.adapter = adapter;
  st.connectionName = connection?.name;
  if (!connection || !adapter?.upgrades) throw new ProxyError('ERR_UPGRADE_UNSUPPORTED');
  return { target, connection, adapter };
}

/** Stage 2: authenticates the client; the request adapters see has no body (an upgrade's handshake carries none). */
async function admitUpgrade(rt: ProxyRuntime, req: IncomingMessage, st: RequestState, r: UpgradeRoute): Promise<AdapterRequest & { actionId: string }> {
  const admission = await admitClient(rt, req, st, r.adapter);
  return {
    ...adapterRequestHead(rt, req, r.target, r.connection, admission),
    contentLength: 0,
    body: Readable.from([]),
    maxBodyBytes: 0,
    actionId: admission.actionId,
  };
}

/**
 * Stage 3: classified and decided; anything not allowed is recorded as
 * denied and refused (a review cannot be held on a raw socket). Decided
 * before the protocol is checked, so a client that falls back to SPDY after
 * a denial is shown the same denial.
 */
async function decideUpgrade(
  rt: ProxyRuntime,
  req: IncomingMessage,
  st: RequestState,
  r: UpgradeRoute,
  areq: AdapterRequest & { actionId: string },
): Promise<UpgradeDecided> {
  const { connection } = r;
  const classified = await r.adapter.classify(areq);
  const decided: PartsDecided = classified.allow
    ? { decision: { effect: 'allow', rule: classified.allow.rule, reason: classified.allow.reason }, classification: classified }
    : decideClassification(rt.policy, areq.principal, connection.name, classified);
  const { decision, classification } = decided;
  const facts: ActionFacts = {
    actionId: areq.actionId,
    requestId: st.requestId,
    principal: areq.principal,
    connection,
    classification,
    decision,
    req,
    urlPath: `/${connection.name}${r.target.path}`,
    observerName: rt.observerName,
  };
  st.facts = facts;
  if (decision.effect !== 'allow') {
    const refusal = decided.refusal ?? refusalOf(decision);
    await rt.recorder
      .record(actionEvent(facts, 'denied'))
      .catch((err: unknown) => st.log().error({ code: (err as { code?: string }).code }, 'denial not recorded'));
    st.log().info({ kind: classification.kind, rule: decision.rule, effect: decision.effect }, 'upgrade refused by policy');
    throw refusal;
  }
  if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    const err = new ProxyError(
      'ERR_UPGRADE_UNSUPPORTED',
      'only WebSocket upgrades are relayed (SPDY streams cannot be inspected); use a WebSocket client (kubectl ≥ 1.30 does)',
    );
    rt.recorder.recordLater(actionEvent(facts, 'failed', { reason: err.message }));
    throw err;
  }
  return { classification, facts };
}

/** Stage 4: the lease, the masker (without the masklist it asks for, refused before anything is recorded as sent), then the intent on the record. */
async function prepareUpgrade(rt: ProxyRuntime, st: RequestState, r: UpgradeRoute, d: UpgradeDecided): Promise<UpgradePrepared> {
  const lease = await leaseFor(rt.leases, r.connection);
  const masker = await rt.responseMasker(r.connection, lease);
  // No record, no action: the session's intent is stored before the handshake goes upstream.
  await rt.recorder.record(actionEvent(d.facts, 'requested'));
  st.requested = true;
  return { lease, masker };
}

/** Stage 5: the handshake request upstream (not yet sent): forwarded headers without extensions, the credential, the adapter's TLS. */
function upstreamUpgrade(rt: ProxyRuntime, req: IncomingMessage, r: UpgradeRoute, areq: AdapterRequest, d: UpgradeDecided, p: UpgradePrepared): ClientRequest {
  const { connection, adapter } = r;
  const headers = upstreamRequestHeaders(req.headers);
  // No extension: permessage-deflate would compress the payloads past masking and recording.
  delete headers['sec-websocket-extensions'];
  adapter.upstreamHeaders?.(areq, d.classification, headers);
  if (p.lease) injectCredential(headers, p.lease, connection.name);
  headers['connection'] = 'Upgrade';
  headers['upgrade'] = 'websocket';
  const base = new URL(connection.upstream);
  const tls = adapter.upstreamTls?.(connection, p.lease);
  return (base.protocol === 'https:' ? httpsRequest : httpRequest)({
    protocol: base.protocol,
    hostname: base.hostname,
    port: base.port || undefined,
    method: areq.method,
    path: upstreamPath(base, r.target.rawPath, r.target.rawQuery),
    headers,
    timeout: connection.limits?.timeoutMs ?? rt.config.gateway.limits.upstreamIdleTimeoutMs,
    ...(tls && {
      ...(tls.ca !== undefined && { ca: tls.ca }),
      ...(tls.cert !== undefined && { cert: tls.cert }),
      ...(tls.privateKey !== undefined && { key: tls.privateKey }),
      ...(tls.servername !== undefined && { servername: tls.servername }),
      rejectUnauthorized: true,
    }),
  });
}

/** Stage 6: the session's last event once it ended (or the upstream refused the handshake). */
function recordSession(rt: ProxyRuntime, st: RequestState, facts: ActionFacts, summary: HandshakeResult): void {
  const failed = summary.status !== 101 || summary.session?.end === 'error' || summary.session?.end === 'protocol-error';
  const masking = mergeFindings([summary.findings, summary.session?.findings ?? []]);
  rt.recorder.recordLater(
    actionEvent(facts, 'completed', {
      durationNs: st.elapsedNs(),
      ...(failed && { outcome: 'failure' as const }),
      http: {
        request: { bytes: summary.session?.bytesIn ?? 0 },
        response: { status_code: summary.status, bytes: summary.session?.bytesOut ?? summary.bytesOut },
      },
      ...(masking.count > 0 && { masking }),
      ...(summary.session && summary.spec?.audit(summary.session)),
    }),
  );
}

/** Any stage's failure: logged, recorded once the intent is (nothing half-recorded), counted before authentication, answered on the raw socket. */
function failUpgrade(rt: ProxyRuntime, socket: Duplex, st: RequestState, raw: unknown): void {
  const err = upgradeError(st.connectionName, raw);
  if (err.code === 'ERR_INTERNAL') st.log().error({ err: raw }, 'internal error on an upgrade');
  else st.log().info({ code: err.code, status: err.status }, 'upgrade refused');
  if (st.facts && (st.requested || err.code === 'ERR_CREDENTIAL_UNAVAILABLE') && err.code !== 'ERR_UPGRADE_UNSUPPORTED') {
    rt.recorder.recordLater(actionEvent(st.facts, 'failed', { reason: err.message, durationNs: st.elapsedNs() }));
  }
  // Refused before anyone was authenticated (an upgrade no adapter relays, a bad token): counted as a refusal, like run.ts does.
  if (!st.authenticated) {
    const cause = (err.cause as { code?: unknown } | undefined)?.code;
    const detail = err.code === 'ERR_UPGRADE_UNSUPPORTED' ? 'UPGRADE' : typeof cause === 'string' ? cause : undefined;
    rt.refusals?.note({ ip: (socket as Duplex & { remoteAddress?: string }).remoteAddress, code: err.code, detail, connection: st.connectionName });
  }
  writeRefusal(socket, err, { connection: st.connectionName, requestId: st.requestId, adapter: st.adapter });
}

interface HandshakeResult {
  status: number;
  bytesOut: number;
  findings: ReturnType<Masker['maskText']>['findings'];
  session?: SessionSummary;
  spec?: SessionSpec;
}

/** Sends the handshake upstream; on 101 relays the session, otherwise relays the (masked, bounded) refusal. */
function handshake(
  up: ClientRequest,
  x: { socket: Duplex; head: Buffer; masker: Masker | undefined; spec: (protocol: string) => SessionSpec; connection: string },
): Promise<HandshakeResult> {
  return new Promise<HandshakeResult>((resolve, reject) => {
    const clientGone = (): void => {
      up.destroy(new ProxyError('ERR_BAD_REQUEST', 'the client closed the connection during the handshake'));
    };
    x.socket.once('close', clientGone);
    up.on('timeout', () => up.destroy(new ProxyError('ERR_UPSTREAM_TIMEOUT', `connection "${x.connection}": the upstream did not answer the upgrade in time`)));
    up.on('error', (err) => reject(err));
    up.on('upgrade', (res: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      x.socket.off('close', clientGone);
      up.setTimeout(0);
      upSocket.setTimeout(0);
      (x.socket as Socket).setTimeout?.(0);
      // An extension the gateway did not offer, or no protocol switch: fail closed.
      if (res.headers['sec-websocket-extensions'] !== undefined) {
        upSocket.destroy();
        reject(new ProxyError('ERR_UPSTREAM_FAILED', `connection "${x.connection}": the upstream negotiated a WebSocket extension the gateway did not offer`));
        return;
      }
      const { head, findings } = responseHead(101, res, x.masker, true);
      x.socket.write(head);
      const protocol = String(res.headers['sec-websocket-protocol'] ?? '');
      const spec = x.spec(protocol);
      void relaySession({
        client: x.socket,
        upstream: upSocket,
        clientHead: x.head,
        upstreamHead: upHead,
        protocol,
        codec: spec.codec,
        masker: x.masker,
        recordBytes: spec.recordBytes,
        maxFrame: MAX_FRAME,
      }).then((session) => resolve({ status: 101, bytesOut: session.bytesOut, findings, session, spec }));
    });
    up.on('response', (res: IncomingMessage) => {
      x.socket.off('close', clientGone);
      // Refused upstream (403 by RBAC, 400 no such pod…): the client gets the upstream's answer, masked and bounded.
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_REFUSAL_BODY) chunks.push(c.subarray(0, MAX_REFUSAL_BODY - size));
        size += c.length;
      });
      res.on('error', (err) => reject(err));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = x.masker ? Buffer.from(x.masker.maskBytes(raw).bytes) : raw;
        const { head, findings } = responseHead(res.statusCode ?? 502, res, x.masker, false, body.length);
        x.socket.end(Buffer.concat([head, body]));
        resolve({ status: res.statusCode ?? 502, bytesOut: body.length, findings });
      });
    });
    up.end();
  });
}

/** The response head sent to the client: hop-by-hop headers dropped (the upgrade's own kept on a 101), values masked. */
function responseHead(
  status: number,
  res: IncomingMessage,
  masker: Masker | undefined,
  upgraded: boolean,
  length?: number,
): { head: Buffer; findings: HandshakeResult['findings'] } {
  let headers = downstreamResponseHeaders(res.headers);
  delete headers['content-length'];
  let findings: HandshakeResult['findings'] = [];
  if (masker) {
    const m = maskHeaders(masker, headers);
    headers = m.headers;
    findings = m.findings;
  }
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`];
  if (upgraded) lines.push('Connection: Upgrade', 'Upgrade: websocket');
  else lines.push('Connection: close', `Content-Length: ${length ?? 0}`);
  for (const [name, value] of Object.entries(headers)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  return { head: Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), findings };
}

function upgradeError(connection: string | undefined, raw: unknown): ProxyError {
  if (raw instanceof ProxyError) return raw;
  if (tlsFailure(raw))
    return new ProxyError('ERR_UPSTREAM_TLS', `connection "${connection ?? '?'}": the upstream's TLS certificate could not be verified`, { cause: raw });
  const code = (raw as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^E(CONN|HOST|NET|PIPE|AI_|ADDR)|^ECONNRESET$|^ETIMEDOUT$/.test(code)) {
    return new ProxyError('ERR_UPSTREAM_UNREACHABLE', `connection "${connection ?? '?'}": the upstream is unreachable`, { cause: raw });
  }
  return toProxyError(raw);
}

/** Writes a refusal as a complete HTTP/1.1 response on the raw socket (the adapter's rendering when it has one), then closes it. */
function writeRefusal(socket: Duplex, err: ProxyError, ctx: { connection: string | undefined; requestId: string; adapter: Adapter | undefined }): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const rendered = ctx.adapter?.renderError?.(err, ctx) ?? {
    status: err.status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: errorBody(err, ctx),
  };
  const body = typeof rendered.body === 'string' ? Buffer.from(rendered.body) : rendered.body;
  const headers: Record<string, string> = {
    ...rendered.headers,
    ...err.headers,
    'cache-control': 'no-store',
    'x-request-id': ctx.requestId,
    connection: 'close',
  };
  const lines = [
    `HTTP/1.1 ${rendered.status} ${STATUS_CODES[rendered.status] ?? 'Error'}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    `content-length: ${body.length}`,
  ];
  socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
}
