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
