import { randomInt } from 'node:crypto';
import { type AuditEvent, buildActionEvent, newEventId } from '@agentgate/events';

const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ghToken = (): string => `ghp_${Array.from({ length: 36 }, () => abc[randomInt(abc.length)]).join('')}`;

/**
 * `n` `completed` events of ~1.1 KB: one in 50 carries the brokered `secret` (masked, plus an
 * exposure event), one in 100 a GitHub token shape (a detector hit), the rest nothing to mask.
 */
export function corpus(n: number, secret: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    const leak = i % 50 === 0 ? ` token=${secret}` : i % 100 === 1 ? ` found ${ghToken()}` : '';
    out.push(
      buildActionEvent({
        phase: 'completed',
        principal: {
          issuer: 'https://ci.example',
          subject: 'repo:acme/app',
          groups: ['acme'],
          claims: {},
          ci: { provider: 'github-actions', repository: 'acme/app', run: String(i % 7) },
          sessionId: `acme/app#${i % 7}`,
          expiresAt: 2e9,
        },
        action: {
          id: newEventId(),
          kind: 'http.request',
          connection: 'github',
          attributes: {
            path: `/repos/acme/app/issues/${i}`,
            query: 'state=open&per_page=100',
            note: `step ${i}: the agent listed issues and pull requests for triage${leak}`,
          },
        },
        url: { full: `https://api.github.com/repos/acme/app/issues/${i}?state=open` },
        http: { request: { method: 'GET', bytes: 0 }, response: { status_code: 200, bytes: 18_000 + i } },
        userAgent: 'agent/1.0 (ci)',
      }),
    );
  }
  return out;
}
