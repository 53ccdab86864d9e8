import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type AuditEvent, buildActionEvent, chainOf, sealEvent, validateEvent } from '@agentgate/events';
import type { JWK } from 'jose';
import { LocalSink, dailyIndex, formatVerifyReport, readLocalTrail, verifyTrail } from '../src/index.js';
import { tmp } from './helpers.js';

// Sealed and stored by schema version 1 (before ECS exactly), as the events package keeps them.
const v1 = JSON.parse(readFileSync(new URL('../../../packages/events/test/fixtures/v1-sealed-chain.json', import.meta.url), 'utf8')) as AuditEvent[];

/** A local store holding the version 1 chain and `n` version 2 events sealed after it (the writer after an upgrade). */
function mixedStore(n: number): string {
  const store = join(tmp('upgrade'), 'audit');
  mkdirSync(store, { recursive: true });
  const last = chainOf(v1.at(-1))!;
  let prev = last.hash;
  const lines = v1.map((doc) => JSON.stringify({ id: doc.event.id, doc }));
  for (let i = 0; i < n; i++) {
    const ev = buildActionEvent({
      phase: 'requested',
      principal: {
        issuer: 'https://issuer.test',
        subject: 'repo:acme/app',
        groups: ['developers'],
        claims: {},
        ci: { provider: 'generic' },
        sessionId: 's-v2',
        expiresAt: 0,
      },
      action: { id: `act-v2-${i}`, kind: 'git.push' },
      decision: { effect: 'allow', rule: 'allow-main' },
      now: new Date(Date.parse('2025-06-01T12:10:00Z') + i * 1000),
    });
    const sealed = sealEvent(ev, { partition: last.partition, seq: last.seq + 1 + i, prevHash: prev });
    prev = sealed.event.hash!;
    lines.push(JSON.stringify({ id: sealed.event.id, doc: sealed }));
  }
  writeFileSync(join(store, 'audit-2025.06.01.jsonl'), `${lines.join('\n')}\n`);
  return store;
}

const noKey = {} as JWK;

test('upgrade - a chain begun by schema version 1 and continued by version 2 verifies as stored', async () => {
  const store = mixedStore(3);
  const r = await verifyTrail({ sink: new LocalSink(store), publicKey: noKey, checkpoints: { checkpoints: [] } });
  // Every document hashes and links; without a signed checkpoint the verdict can only be an unverified tail.
  assert.deepEqual(r.problems, [], formatVerifyReport(r));
  assert.equal(r.verdict, 'unverified-tail');
  assert.equal(r.total, 9);
});

test('upgrade - an edit of a version 1 document, and a version 2 one, are still reported', async () => {
  const store = mixedStore(3);
  const file = join(store, 'audit-2025.06.01.jsonl');
  type Row = { id: string; doc: { agentgate: { decision: Record<string, unknown> }; rule: Record<string, unknown> } };
  const rows = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Row);
  rows[2]!.doc.agentgate.decision['rule'] = 'allow-all';
  rows[7]!.doc.rule['name'] = 'allow-all';
  writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const r = await verifyTrail({ sink: new LocalSink(store), publicKey: noKey, checkpoints: { checkpoints: [] } });
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.problems.map((p) => `${p.kind}@${p.seq}`),
    ['modified@3', 'modified@8'],
  );
});

test('upgrade - the trail reads version 1 documents in the version 2 layout; searches by subject and rule find both', () => {
  const store = mixedStore(2);
  const trail = readLocalTrail(store);
  assert.equal(trail.length, 8);
  for (const e of trail) validateEvent(e);
  assert.equal(trail[2]!.event.action, 'git.force_push');
  assert.equal(readLocalTrail(store, { rule: 'no-force-push-protected' }).length, 1);
  assert.equal(readLocalTrail(store, { rule: 'allow-main' }).length, 2);
});

test('upgrade - version 2 documents go to indices of their own (a day index made by version 1 keeps its strict mapping)', () => {
  assert.equal(dailyIndex('agentgate-audit', '2025-06-01T12:00:00Z'), 'agentgate-audit-v2-2025.06.01');
});
