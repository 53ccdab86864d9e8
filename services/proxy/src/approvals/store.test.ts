import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { tempDir } from '@agentgate/testkit';
import type { ApprovalRecord } from './record.js';
import { ApprovalStore } from './store.js';

function record(id: string, subject = 'repo:acme/app:ref:main', requestedAt = new Date().toISOString()): ApprovalRecord {
  return {
    id,
    status: 'pending',
    requestedAt,
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    rule: 'r',
    reason: undefined,
    policyVersion: 'c'.repeat(64),
    connection: 'api',
    principal: { issuer: 'https://i.test', subject, groups: [], sessionId: 's', ci: { provider: 'github-actions' }, identity: {} },
    binding: { kind: 'http.post', connection: 'api', attributes: {}, body: null, digest: 'd'.repeat(64) },
    preview: null,
    heldBy: 'gw-1',
  };
}

test('store - an approved record is consumed once: of many concurrent claims exactly one wins', async () => {
  const dir = tempDir('approvals-store');
  const bus = await createBus({ dataDir: dir.path });
  try {
    const store = await ApprovalStore.open(bus);
    const created = await store.create(record('A1'));
    const approver = { subject: 'ops', issuer: 'https://i.test', groups: ['approvers'], sessionId: 'o' };
    const decided = await store.decide(created, 'approved', 'gw-2', approver, 'ok');
    assert.equal(decided.won, true);
    assert.equal(decided.rec.record.decidedVia, 'gw-2');
    // Every claimant read the same approved revision.
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => store.consume(decided.rec, `gw-${i}`)));
    assert.equal(claims.filter((c) => c.won).length, 1);
    const now = await store.get('A1');
    assert.ok(now?.record.consumedAt);
    assert.equal(now?.record.status, 'approved');
    // Later claims, with a fresh read, lose too; a pending or rejected record cannot be consumed at all.
    assert.equal((await store.consume(now!, 'gw-9')).won, false);
    const other = await store.create(record('A2'));
    assert.equal((await store.consume(other, 'gw-1')).won, false);
    const rejected = await store.decide(other, 'rejected', 'gw-1', approver);
    assert.equal((await store.consume(rejected.rec, 'gw-1')).won, false);
  } finally {
    await bus.close();
    dir.cleanup();
  }
});

test('store - pendingOf lists one principal’s pending records, oldest first with the id breaking ties', async () => {
  const dir = tempDir('approvals-store');
  const bus = await createBus({ dataDir: dir.path });
  try {
    const store = await ApprovalStore.open(bus);
    const at = new Date().toISOString();
    await store.create(record('B2', 'me', at));
    await store.create(record('B1', 'me', at));
    await store.create(record('C1', 'someone-else', at));
    const done = await store.create(record('B0', 'me', at));
    await store.decide(done, 'expired', 'gw-1');
    assert.deepEqual(
      (await store.pendingOf({ issuer: 'https://i.test', subject: 'me' })).map((r) => r.id),
      ['B1', 'B2'],
    );
  } finally {
    await bus.close();
    dir.cleanup();
  }
});
