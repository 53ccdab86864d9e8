import type { IncomingMessage, ServerResponse } from 'node:http';
import { continueTrace, endSpan, processMetrics, tracingEnabled } from '@agentgate/telemetry';

/** Label of a request refused before a decision (unknown connection, bad token…). */
const NO_DECISION = 'none';
/** Label of a request that named no configured connection: never the name the client sent (unbounded). */
const NO_CONNECTION = '-';

/**
 * Runs one data-path request in its span `agentgate.request`, continuing
 * the client's `traceparent`; the span ends when the response closes, so
 * a streamed body is inside it. Tracing off: runs the request, nothing else.
 */
export function tracedRequest(req: IncomingMessage, res: ServerResponse, run: () => Promise<void>): Promise<void> {
  if (!tracingEnabled()) return run();
  return continueTrace(req.headers, 'agentgate.request', 'server', { 'http.request.method': req.method ?? 'GET' }, (span) => {
    res.once('close', () => {
      span?.setAttribute('http.response.status_code', res.statusCode);
      endSpan(span, res.statusCode >= 500 ? { code: `HTTP_${res.statusCode}` } : undefined);
    });
    return run();
  });
}

/**
 * Counts one answered request: `agentgate_proxy_requests_total` and, for a
 * forwarded one, the added and upstream latency (README: Metrics).
 * `forwardedAt`/`headersNs`: when it went upstream and how long the upstream
 * took to answer with headers, absent when it was refused before.
 */
export function requestAnswered(
  connection: string | undefined,
  decision: string | undefined,
  status: number,
  started: bigint,
  forwardedAt?: bigint,
  headersNs?: bigint,
): void {
  processMetrics().requestDone(
    connection ?? NO_CONNECTION,
    decision ?? NO_DECISION,
    status,
    forwardedAt === undefined ? undefined : Number(forwardedAt - started),
    headersNs === undefined ? undefined : Number(headersNs),
  );
}

/** Counts secrets masked in an upstream response, by detector type. */
export function responseMasked(findings: ReadonlyArray<{ type: string; count: number }>): void {
  const counter = processMetrics().maskingFindings;
  for (const f of findings) counter.inc({ type: f.type, where: 'response' }, f.count);
}
