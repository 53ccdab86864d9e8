import type { IncomingMessage } from 'node:http';
import type { Connection } from '../adapters/types.js';
import { type ActionEventInput, type AuditEvent, buildActionEvent, type Decision, type Principal } from '@agentgate/events';
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
  // Built field by field (no spread of throw-away objects): this runs twice per request.
  const decision: Decision = { effect: f.decision.effect };
  if (f.decision.rule !== null) decision.rule = f.decision.rule;
  decision.reason = f.decision.reason;
  const url: NonNullable<ActionEventInput['url']> = { path: f.urlPath };
  if (f.urlOriginal !== undefined) url.original = f.urlOriginal;
  if (f.urlFull !== undefined) url.full = f.urlFull;
  const source: NonNullable<ActionEventInput['source']> = {};
  if (ip !== undefined) source.ip = ip;
  if (port !== undefined) source.port = port;
  const input: ActionEventInput = {
    phase,
    principal: f.principal,
    action: { id: f.actionId, kind: f.classification.kind, connection: f.connection.name, attributes: f.classification.attributes },
    decision,
    url,
    source,
    destination: destinationOf(f.connection.upstream),
  };
  if (typeof ua === 'string') input.userAgent = ua.slice(0, 512);
  if (active) {
    input.traceId = active.traceId;
    input.spanId = active.spanId;
  }
  if (trace?.[1]) input.traceId = trace[1];
  if (trace?.[2]) input.spanId = trace[2];
  input.observerName = f.observerName;
  // The adapter's audit fields, then the phase's extras, override what is above (as a spread would).
  if (f.classification.audit) Object.assign(input, f.classification.audit);
  Object.assign(input, extra);
  const request: NonNullable<ActionEventInput['http']>['request'] = { method: f.req.method ?? 'GET', id: f.requestId };
  if (extra.http?.request) Object.assign(request, extra.http.request);
  input.http = extra.http?.response !== undefined ? { request, response: extra.http.response } : { request };
  return buildActionEvent(input);
}
