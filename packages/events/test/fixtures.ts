import type { Principal } from '../src/index.js';

/** A GitHub-Actions-like principal for tests. */
export function testPrincipal(over: Partial<Principal> = {}): Principal {
  return {
    issuer: 'https://token.actions.githubusercontent.com',
    subject: 'repo:octo-org/app:ref:refs/heads/main',
    groups: ['developers'],
    claims: { repository: 'octo-org/app' },
    ci: { provider: 'github-actions', repository: 'octo-org/app', ref: 'refs/heads/main', run: '42', attempt: '1', actor: 'octocat' },
    sessionId: 'octo-org/app:42:1',
    expiresAt: 1_900_000_000,
    ...over,
  };
}
