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

type Destination = NonNullable<ActionEventInput['destination']>;

// The upstream of a connection as `destination.*`: parsed once per upstream URL, not once per event.
const destinations = new Map<string, Destination>();

function destinationOf(upstreamUrl: string): Destination {
  let d = destinations.get(upstreamUrl);
  if (!d) {
    const upstream = new URL(upstreamUrl);
    d = { address: upstream.hostname, port: upstream.port ? Number(upstream.port) : upstream.protocol === 'https:' ? 443 : 80 };
    // Connections come from the configuration: a handful of URLs; the bound only guards against a misuse.
    if (destinations.size > 1000) destinations.clear();
    destinations.set(upstreamUrl, d);
  }
  // A copy: the event owns its objects.
  return { address: d.address, port: d.port };
}

/** Builds one phase's event from the request's facts and the phase's extras. */
export function actionEvent(f: ActionFacts, phase: ActionEventInput['phase'], extra: Partial<ActionEventInput> = {}): AuditEvent {
  // Tracing on: the request's span (it continues the client's traceparent); off: the client's traceparent, as sent.
  const active = activeTraceIds();
  const traceparent = f.req.headers.traceparent;
  const trace = active || traceparent === undefined ? undefined : TRACEPARENT.exec(String(traceparent));
  const ua = f.req.headers['user-agent'];
  const ip = f.req.socket.remoteAddress;
  const port = f.req.socket.remotePort;
  return buildActionEvent({
    phase,
    principal: f.principal,
    action: { id: f.actionId, kind: f.classification.kind, connection: f.connection.name, attributes: f.classification.attributes },
    decision: { effect: f.decision.effect, ...(f.decision.rule !== null && { rule: f.decision.rule }), reason: f.decision.reason },
    url: { path: f.urlPath, ...(f.urlOriginal !== undefined && { original: f.urlOriginal }), ...(f.urlFull !== undefined && { full: f.urlFull }) },
    source: { ...(ip !== undefined && { ip }), ...(port !== undefined && { port }) },
    destination: destinationOf(f.connection.upstream),
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
