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

export function configFor(i: Issuers, over: Partial<IdentityConfigInput> = {}): IdentityConfigInput {
  return {
    issuers: [
      {
        issuer: i.gh.issuer,
        audience: ['agentgate', 'other'],
        profile: 'github-actions',
        algorithms: ['RS256', 'PS256'],
        clockToleranceSec: 5,
        requiredClaims: ['actor'],
        claimConstraints: [{ claim: 'repository_owner', equals: 'acme' }],
        allowInsecureHttp: true,
      },
      {
        issuer: i.gl.issuer,
        audience: 'https://agentgate.example',
        profile: 'gitlab-ci',
        jwksUri: i.gl.jwksUri,
        algorithms: ['ES256'],
        claimConstraints: [{ claim: 'namespace_path', in: ['acme', 'acme-infra'] }],
        allowInsecureHttp: true,
      },
    ],
    groupRules: [
      {
        group: 'release-bots',
        issuer: i.gh.issuer,
        when: [
          { claim: 'repository', in: ['acme/app', 'acme/lib'] },
          { claim: 'ref', equals: 'refs/heads/main' },
        ],
      },
      { group: 'protected-ref', when: [{ claim: 'ref_protected', equals: true }] },
      { group: 'acme-ci', when: [{ claim: 'repository_owner', equals: 'acme' }] },
    ],
    jwks: { cooldownSec: 30, maxAgeSec: 600, timeoutMs: 2000 },
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
