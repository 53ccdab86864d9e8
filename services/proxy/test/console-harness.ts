import { startAuditWriter } from '@agentgate/audit-writer';
import { createLogger } from '@agentgate/log';
import { startMaskingService } from '@agentgate/masking-service';
import { freePort, githubClaims, type OidcProvider, startOidcProvider, tempDir } from '@agentgate/testkit';
import { type GitHarness, startGitHarness } from './git-harness.js';

/** Human logins of the console's IdP: a release manager, the requester's own human, and a developer who approves nothing. */
export const ACCOUNTS = {
  rita: { name: 'Rita Release', groups: ['release-managers'] },
  octocat: { name: 'The Octocat', groups: ['release-managers'] },
  nora: { name: 'Nora Dev', groups: ['developers'] },
};

/** The git harness with a force-push review, the console (logins at a real oidc-provider) and the audit pipeline to a local store. */
export interface ConsoleHarness extends GitHarness {
  idp: OidcProvider;
  consoleUrl: string;
  close(): Promise<void>;
}

export async function startConsoleHarness(opts: { timeoutMs?: number } = {}): Promise<ConsoleHarness> {
  const port = await freePort();
  const consoleUrl = `http://127.0.0.1:${port}/_agentgate/console`;
  const idp = await startOidcProvider({ login: { clientId: 'agentgate-console', redirectUris: [`${consoleUrl}/callback`], accounts: ACCOUNTS } });
  const store = tempDir('console-trail');
  const h = await startGitHarness({
    port,
    gitOptions: 'progressIntervalMs: 300',
    groups: '    - { name: release-managers, when: { repository: acme/ops } }\n',
    rules: `    - { name: force-review, actions: [git.force_push], when: "attrs.ref == 'refs/heads/main'", decision: review, reason: rewriting main needs a release manager }\n`,
    extra: [
      'approvals:',
      `  timeoutMs: ${opts.timeoutMs ?? 60000}`,
      '  approverGroups: [release-managers]',
      'console:',
      `  issuer: ${idp.issuer}`,
      '  clientId: agentgate-console',
      `  redirectUrl: ${consoleUrl}/callback`,
      '  scopes: [openid, profile, groups]',
      'audit:',
      `  sinks: [{ type: local, path: ${store.path} }]`,
      '  batch: { maxWaitMs: 50 }',
      '',
    ].join('\n'),
  });
  const logger = createLogger({ name: 'console-test', level: 'warn', destination: { write: () => {} } });
  const masking = await startMaskingService(h.bus, h.config, logger);
  const writer = await startAuditWriter(h.bus, h.config, logger);
  return {
    ...h,
    idp,
    consoleUrl,
    close: async () => {
      await h.close().catch(() => {});
      await writer.stop().catch(() => {});
      await masking.stop().catch(() => {});
      await idp.close();
      store.cleanup();
    },
  };
}

/** Claims of a CI token of the approvers' pipeline (acme/ops). */
export const opsClaims = () => githubClaims({ repository: 'acme/ops', run_id: '7200000001', actor: 'release-bot', actor_id: '720001' });
