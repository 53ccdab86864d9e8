import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '@agentgate/events';
import type { Classification } from '../adapters/types.js';
import { ProxyError } from '../errors.js';
import type { PolicyPort } from '../lib/ports.js';
import { decideClassification } from './decide-parts.js';

const principal = { issuer: 'i', subject: 's', groups: [], claims: {}, ci: { provider: 'generic' }, sessionId: 'x', expiresAt: 0 } as Principal;
const policy: PolicyPort = {
  decide: (_p, a) =>
    a.kind === 'git.force_push'
      ? { effect: 'deny', rule: 'no-force', reason: 'no' }
      : a.kind === 'git.tag_move'
        ? { effect: 'review', rule: 'tags', reason: 'approval required' }
        : { effect: 'allow', rule: 'ok', reason: 'fine' },
};

function parts(kinds: string[], seen: unknown[][]): Classification {
  return {
    kind: 'git.push',
    attributes: {},
    parts: {
      actions: kinds.map((kind) => ({ kind, attributes: {} })),
      settle(decisions) {
        seen.push(decisions.map((d) => d.effect));
        const refused = decisions.some((d) => d.effect !== 'allow');
        return { audit: { git: { refs: [] } }, ...(refused && { refusal: new ProxyError('ERR_POLICY_DENIED', 'per-ref') }) };
      },
    },
  };
}

test('decide parts - every part allowed: allowed, the adapter settles the audit fields', () => {
  const seen: unknown[][] = [];
  const d = decideClassification(policy, principal, 'gh', parts(['git.push', 'git.create_ref'], seen));
  assert.equal(d.decision.effect, 'allow');
  assert.equal(d.refusal, undefined);
  assert.deepEqual(seen, [['allow', 'allow']]);
  assert.deepEqual(d.classification.audit, { git: { refs: [] } });
});

test('decide parts - one denied part refuses the whole request; a deny outranks an earlier review', () => {
  const seen: unknown[][] = [];
  const d = decideClassification(policy, principal, 'gh', parts(['git.push', 'git.tag_move', 'git.force_push'], seen));
  assert.equal(d.decision.effect, 'deny');
  assert.equal(d.decision.rule, 'no-force');
  assert.equal(d.refusal?.message, 'per-ref');
  assert.deepEqual(seen, [['allow', 'review', 'deny']]);
  assert.equal(decideClassification(policy, principal, 'gh', parts(['git.tag_move'], [])).decision.effect, 'review');
});

test('decide parts - no parts at all is a deny; a policy that throws is a deny', () => {
  assert.equal(decideClassification(policy, principal, 'gh', parts([], [])).decision.effect, 'deny');
  const throwing: PolicyPort = {
    decide: () => {
      throw new Error('boom');
    },
  };
  assert.equal(decideClassification(throwing, principal, 'gh', parts(['git.push'], [])).decision.effect, 'deny');
  // Without parts the single decision is used as before.
  assert.equal(decideClassification(policy, principal, 'gh', { kind: 'git.force_push', attributes: {} }).decision.rule, 'no-force');
});
