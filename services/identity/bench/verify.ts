/**
 * Verifications per second, uncached (full signature + claims check on every
 * call) and cached (SHA-256 lookup), against a local CI issuer. A plain
 * jose.jwtVerify with a local key is the baseline, run in the same process.
 *
 *   npm run bench -w @agentgate/identity
 */
import { githubClaims, startCiIssuer } from '@agentgate/testkit';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { IdentityVerifier } from '../src/index.js';

const N_UNCACHED = Number(process.env['BENCH_N'] ?? 3000);
const N_CACHED = N_UNCACHED * 20;

async function rate(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return n / s;
}

for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
  const ci = await startCiIssuer({ alg });
  const tokens = await Promise.all(Array.from({ length: N_UNCACHED }, (_, i) => ci.mint(githubClaims({ run_id: String(i) }))));
  const config = {
    issuers: [
      {
        name: 'ci',
        issuer: ci.issuer,
        audiences: [ci.audience],
        profile: 'github-actions' as const,
        algorithms: [alg],
        claimConstraints: { repository_owner: 'acme' },
      },
    ],
    groups: [{ name: 'release-bots', when: { iss: ci.issuer, ref: 'refs/heads/main' } }],
  };
  const uncached = new IdentityVerifier(config, { cache: { maxEntries: 0 } });
  await uncached.verify(tokens[0]); // fetch the JWKS once
  const cached = new IdentityVerifier(config);
  await cached.verify(tokens[0]);

  const jwks = createLocalJWKSet({ keys: ci.publishedKeys() });
  const baseline = await rate(N_UNCACHED, (i) => jwtVerify(tokens[i] as string, jwks, { issuer: ci.issuer, audience: ci.audience }));
  const u = await rate(N_UNCACHED, (i) => uncached.verify(tokens[i]));
  const c = await rate(N_CACHED, () => cached.verify(tokens[0]));
  if (uncached.stats().verifications !== N_UNCACHED + 1 || cached.stats().verifications !== 1) {
    throw new Error('bench: cache behaved unexpectedly');
  }
  console.log(
    `${alg.padEnd(6)} uncached ${u.toFixed(0).padStart(7)} verif/s   cached ${c.toFixed(0).padStart(8)} verif/s   ` +
      `baseline jose.jwtVerify ${baseline.toFixed(0).padStart(7)} /s   (uncached/baseline ${(u / baseline).toFixed(2)})`,
  );
  await ci.close();
}
