import { type CiIssuer, startCiIssuer } from '@agentgate/testkit';
import type { IdentityConfigInput } from '../src/index.js';

export interface Issuers {
  gh: CiIssuer;
  gl: CiIssuer;
  close(): Promise<void>;
}

/** A GitHub-style issuer (discovery) and a GitLab-style issuer (explicit JWKS URL, ES256). */
export async function startIssuers(): Promise<Issuers> {
  const gh = await startCiIssuer({ alg: 'RS256' });
  const gl = await startCiIssuer({ alg: 'ES256', audience: 'https://agentgate.example' });
  return {
    gh,
    gl,
    close: async () => {
      await gh.close();
      await gl.close();
    },
  };
}

/** GitHub-style issuer found by discovery, GitLab-style issuer with an explicit JWKS URL. */
export function configFor(i: Issuers, over: Partial<IdentityConfigInput> = {}): IdentityConfigInput {
  return {
    issuers: [
      {
        name: 'gh',
        issuer: i.gh.issuer,
        audiences: ['agentgate', 'other'],
        profile: 'github-actions',
        algorithms: ['RS256', 'PS256'],
        clockToleranceSec: 5,
        requiredClaims: ['actor'],
        claimConstraints: { repository_owner: 'acme' },
      },
      {
        name: 'gl',
        issuer: i.gl.issuer,
        audiences: ['https://agentgate.example'],
        profile: 'gitlab-ci',
        jwksUri: i.gl.jwksUri,
        algorithms: ['ES256'],
        claimConstraints: { namespace_path: ['acme', 'acme-infra'] },
      },
    ],
    groups: [
      { name: 'release-bots', when: { iss: i.gh.issuer, repository: ['acme/app', 'acme/lib'], ref: 'refs/heads/main' } },
      { name: 'protected-ref', when: { ref_protected: 'true' } },
      { name: 'acme-ci', when: { repository_owner: 'acme' } },
    ],
    ...over,
  };
}

/** Resolves to the error a promise rejects with; fails if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected a rejection, got a principal');
}
