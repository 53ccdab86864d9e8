import type { IncomingMessage } from 'node:http';
import type { Connection } from '../adapters/types.js';
import { type ActionEventInput, type AuditEvent, buildActionEvent, type Principal } from '@agentgate/events';
import type { Classification } from '../adapters/types.js';
import type { Decided } from './decide.js';
import { activeTraceIds } from '@agentgate/telemetry';

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/;

/** What one request contributes to its audit events. */
export interface ActionFacts {
  actionId: string;
  requestId: string;
  principal: Principal;
  connection: Connection;
  classification: Classification;
  decision: Decided;
  req: IncomingMessage;
  /** `/<connection><path>` decoded, without the query (query strings may carry tokens). */
  urlPath: string;
  /** The same path as the client sent it, still percent-encoded (`url.original`). */
  urlOriginal?: string;
  /** The upstream URL the request is forwarded to, raw path, without the query (`url.full`). */
  urlFull?: string;
  observerName: string;
}

/** Builds one phase's event from the request's facts and the phase's extras. */
export function actionEvent(f: ActionFacts, phase: ActionEventInput['phase'], extra: Partial<ActionEventInput> = {}): AuditEvent {
  const upstream = new URL(f.connection.upstream);
  // Tracing on: the request's span (it continues the client's traceparent); off: the client's traceparent, as sent.
  const active = activeTraceIds();
  const trace = active ? undefined : TRACEPARENT.exec(String(f.req.headers.traceparent ?? ''));
  const ua = f.req.headers['user-agent'];
  const ip = f.req.socket.remoteAddress;
  const port = f.req.socket.remotePort;
  const defaultPort = upstream.protocol === 'https:' ? 443 : 80;
  return buildActionEvent({
    phase,
    principal: f.principal,
    action: { id: f.actionId, kind: f.classification.kind, connection: f.connection.name, attributes: f.classification.attributes },
    decision: { effect: f.decision.effect, ...(f.decision.rule !== null && { rule: f.decision.rule }), reason: f.decision.reason },
    url: { path: f.urlPath, ...(f.urlOriginal !== undefined && { original: f.urlOriginal }), ...(f.urlFull !== undefined && { full: f.urlFull }) },
    source: { ...(ip !== undefined && { ip }), ...(port !== undefined && { port }) },
    destination: { address: upstream.hostname, port: upstream.port ? Number(upstream.port) : defaultPort },
    ...(typeof ua === 'string' && { userAgent: ua.slice(0, 512) }),
    ...(active && { traceId: active.traceId, spanId: active.spanId }),
    ...(trace?.[1] && { traceId: trace[1] }),
    ...(trace?.[2] && { spanId: trace[2] }),
    observerName: f.observerName,
    ...f.classification.audit,
    ...extra,
    http: {
      request: { method: f.req.method ?? 'GET', id: f.requestId, ...extra.http?.request },
      ...(extra.http?.response !== undefined && { response: extra.http.response }),
    },
  });
}
