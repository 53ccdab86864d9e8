import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@agentgate/config';
import { testPolicy } from '@agentgate/policy';
import { FORGE_KINDS, type ForgeKind } from '../src/adapters/http/forge/kinds.js';

/**
 * The sample configuration (agentgate.example.yaml) denies or holds every
 * dangerous forge call on its GitHub API connection; only a fast-forward,
 * the rewrite or deletion of an unprotected branch, and an unnamed GraphQL
 * mutation on a read path of the http rules are left to the other rules.
 */
const SAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'agentgate.example.yaml');
const config = loadConfig({ path: SAMPLE, env: { GITHUB_TOKEN: 'x', OPENAI_API_KEY: 'x' } });
const base = {
  forge: 'github',
  api: 'rest',
  method: 'PUT',
  path: '/repos/acme/app/x',
  owner: 'acme',
  repo: 'app',
  branch: 'main',
  setting: 'x',
  operation: 'update',
};
const decide = (kind: string, attributes: Record<string, unknown> = {}) =>
  testPolicy(config, { action: { kind, connection: 'github-api', attributes: { ...base, ...attributes } } }).decision;

describe('forge - the sample policy', () => {
  it("the GitHub API connection is classified as a forge, its refs decided in the git connection's mirror", () => {
    const api = config.connections.find((c) => c.name === 'github-api') as { options?: { forge?: { type: string; git?: string } } };
    assert.deepEqual([api.options?.forge?.type, api.options?.forge?.git], ['github', 'github-git']);
  });

  it('denies or holds every dangerous forge kind, naming its rule', () => {
    const left: ForgeKind[] = ['forge.ref_update'];
    for (const kind of Object.keys(FORGE_KINDS) as ForgeKind[]) {
      if (left.includes(kind)) continue;
      const d = decide(kind, { ref: 'refs/heads/main', protected: true, force: true, fastForward: false });
      assert.ok(d.effect === 'deny' || d.effect === 'review', `${kind}: ${d.effect}`);
      assert.match(d.rule ?? '', /^forge-/, `${kind} decided by ${d.rule}`);
    }
    assert.equal(decide('forge.branch_protection_delete').rule, 'forge-no-protection-removal');
    assert.equal(decide('forge.branch_protection_delete').effect, 'deny');
    assert.equal(decide('forge.ci_secret_write').effect, 'deny');
    assert.equal(decide('forge.workflow_change').effect, 'review');
  });

  it('an unprotected branch may be rewritten through the API; a protected one never', () => {
    assert.equal(decide('forge.ref_update', { ref: 'refs/heads/main', protected: true, fastForward: true }).effect, 'allow');
    assert.equal(decide('forge.ref_force_update', { ref: 'refs/heads/scratch', protected: false }).effect, 'allow');
    assert.equal(decide('forge.ref_force_update', { ref: 'refs/heads/main', protected: true }).effect, 'deny');
    assert.equal(decide('forge.ref_delete', { ref: 'refs/heads/main', protected: true }).rule, 'forge-no-history-rewrite');
  });
});
