import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateEvent } from '@agentgate/events';
import { decisionEvent } from './events.js';
import type { ApprovalRecord } from './record.js';

const rec: ApprovalRecord = {
  id: '01JZ0000000000000000000000',
  status: 'approved',
  requestedAt: '2025-06-01T12:00:00.000Z',
  expiresAt: '2025-06-01T12:05:00.000Z',
  rule: 'admin-review',
  reason: 'admin calls need a human',
  policyVersion: 'c'.repeat(64),
  connection: 'api',
  principal: {
    issuer: 'https://i.test',
    subject: 'repo:acme/app:ref:main',
    groups: ['acme-ci'],
    sessionId: 'gh:acme/app:1:1',
    ci: { provider: 'github-actions', actor: 'octocat' },
    identity: { actor: 'octocat' },
  },
  binding: {
    kind: 'http.post',
    connection: 'api',
    attributes: { path: '/admin/x' },
    request: { method: 'POST', path: '/admin/x', query: '', headers: {} },
    body: { sha256: 'e'.repeat(64), bytes: 3 },
    digest: 'd'.repeat(64),
  },
  preview: { encoding: 'text', text: 'abc', truncated: false, masked: 0 },
  heldBy: 'gw-1',
  decidedAt: '2025-06-01T12:01:00.000Z',
  decidedBy: { subject: 'repo:acme/ops:ref:main', issuer: 'https://i.test', groups: ['acme-ci'], sessionId: 'gh:acme/ops:2:1' },
  decidedVia: 'gw-2',
  decisionReason: 'fine',
};

test('approval events - the decision event is a function of the record: same id and bytes for every writer', () => {
  const a = decisionEvent(rec);
  const b = decisionEvent(JSON.parse(JSON.stringify(rec)) as ApprovalRecord);
  assert.deepEqual(validateEvent(a), a);
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  assert.equal(a['@timestamp'], rec.decidedAt);
  assert.equal(a.observer.name, 'gw-2');
  assert.equal(a.agentgate.action.phase, 'approved');
  assert.equal(a.agentgate.approval?.approver?.subject, 'repo:acme/ops:ref:main');
  assert.equal(a.agentgate.approval?.body_sha256, 'e'.repeat(64));
  assert.equal(a.event.reason, 'fine');
  assert.equal(a.url?.path, '/api/admin/x');
  assert.notEqual(decisionEvent({ ...rec, status: 'rejected' }).event.id, a.event.id, 'another decision is another fact');
  assert.throws(() => decisionEvent({ ...rec, status: 'pending' }));
});
