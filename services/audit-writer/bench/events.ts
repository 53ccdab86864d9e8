import { type AuditEvent, buildActionEvent } from '@agentgate/events';

const principal = {
  issuer: 'https://ci.example',
  subject: 'repo:acme/app:ref:refs/heads/main',
  groups: ['ci'],
  claims: {},
  ci: { provider: 'github-actions' as const, repository: 'acme/app', actor: 'octo' },
  sessionId: 'sess-1',
  expiresAt: 2_000_000_000,
};

/**
 * Bench events (the same shape as the tests' `makeEvents`, kept here so the bench imports built
 * packages only): spread over ~26 h (three daily indices), several sessions and action kinds.
 */
export function benchEvents(n: number, runId: string): AuditEvent[] {
  const start = Date.UTC(2025, 0, 1, 22, 0, 0);
  const out: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    const now = new Date(start + Math.floor((i * 26 * 3600_000) / Math.max(n, 1)));
    const kind = i % 3 === 0 ? 'git.force_push' : i % 3 === 1 ? 'http.request' : 'kubernetes.delete';
    out.push(
      buildActionEvent({
        phase: i % 4 === 0 ? 'denied' : 'completed',
        principal: { ...principal, sessionId: `sess-${runId}-${i % 5}` },
        action: { id: `act-${runId}-${i}`, kind, attributes: { n: i, path: `/x/${i}` } },
        ...(i % 4 === 0 && { decision: { effect: 'deny' as const, rule: 'no-force-push', reason: 'policy' } }),
        http: { request: { method: 'POST', bytes: i }, response: { status_code: 200 } },
        source: { ip: '10.0.0.1', port: 40000 + (i % 1000) },
        labels: { run: 'bench', attempt: i % 2, retried: i % 2 === 0 },
        now,
      }),
    );
  }
  return out;
}

/**
 * Events shaped as the proxy writes them for the whole-pipeline bench's small GETs (bench/pipeline.ts):
 * an `allowed` intent and a `completed` event per action, with the fields the proxy fills
 * (`url.path` / `url.original` / `url.full`, destination, user agent, trace and span ids, request id,
 * connection, decision), all on one day as a live writer's are.
 */
export function pipelineEvents(n: number, runId: string): AuditEvent[] {
  const start = Date.UTC(2025, 0, 2, 8, 0, 0);
  const out: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    const a = i >> 1;
    const now = new Date(start + i * 2);
    const hex = (x: number, len: number) => x.toString(16).padStart(len, '0').slice(-len);
    out.push(
      buildActionEvent({
        phase: i % 2 === 0 ? 'requested' : 'completed',
        principal: { ...principal, sessionId: `sess-${runId}-${a % 8}` },
        action: { id: `act-${runId}-${a}`, kind: 'http.get', connection: 'api', attributes: { method: 'GET', path: `/bench/${a}` } },
        decision: { effect: 'allow', rule: 'bench-read', reason: 'rule bench-read allows http.get' },
        url: { path: `/api/bench/${a}`, original: `/api/bench/${a}`, full: `http://127.0.0.1:39211/bench/${a}` },
        source: { ip: '127.0.0.1', port: 40000 + (a % 20000) },
        destination: { address: '127.0.0.1', port: 39211 },
        userAgent: 'agentgate-bench/1.0',
        traceId: `${hex(a * 2654435761, 16)}${hex(a, 16)}`,
        spanId: hex(a * 40503, 16),
        http:
          i % 2 === 0
            ? { request: { method: 'GET', id: `req-${runId}-${a}` } }
            : { request: { method: 'GET', id: `req-${runId}-${a}` }, response: { status_code: 200, bytes: 64 } },
        ...(i % 2 === 1 && { durationNs: 1_500_000 + (a % 1000) }),
        observerName: 'proxy-bench',
        now,
      }),
    );
  }
  return out;
}
