import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createBus } from '@agentgate/bus';
import { buildActionEvent, newEventId, type Principal } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { metricValue, processMetrics } from '@agentgate/telemetry';
import { AuditRecorder } from '../src/pipeline/record.js';
import { type ApprovalsHarness, call, pendingId, startApprovalsHarness } from './approvals-harness.js';

const PRINCIPAL: Principal = {
  issuer: 'https://ci.example',
  subject: 'repo:acme/app:ref:refs/heads/main',
  groups: [],
  claims: {},
  ci: { provider: 'github-actions', repository: 'acme/app', run: '7', attempt: '1' },
  sessionId: 'gh:acme/app:7:1',
  expiresAt: 2_000_000_000,
};

let h: ApprovalsHarness;
before(async () => {
  h = await startApprovalsHarness();
});
after(async () => {
  await h?.close();
});

const scrape = (): Promise<string> => processMetrics().text();
const gauge = (text: string): number => metricValue(text, 'agentgate_approvals_pending');
const decided = (text: string, decision: string): number => metricValue(text, 'agentgate_approvals_decided_total', { decision });

test('proxy telemetry - approvals pending while held, decided by decision once an approver answers', async () => {
  const start = await scrape();
  const approvedHold = call(h.proxy.url, 'GET', '/api/admin/users', h.token);
  const first = await pendingId(h.proxy.url, h.approverToken);
  assert.equal(gauge(await scrape()), gauge(start) + 1, 'one action held');
  assert.equal((await call(h.proxy.url, 'POST', `/_agentgate/approvals/${first}/approve`, h.approverToken, { reason: 'ok' })).status, 200);
  assert.equal((await approvedHold).status, 200);

  const rejectedHold = call(h.proxy.url, 'GET', '/api/admin/other', h.token);
  const second = await pendingId(h.proxy.url, h.approverToken);
  assert.equal((await call(h.proxy.url, 'POST', `/_agentgate/approvals/${second}/reject`, h.approverToken, { reason: 'no' })).status, 200);
  assert.equal((await rejectedHold).status, 403);
  const end = await scrape();
  assert.equal(gauge(end), gauge(start), 'nothing held any more');
  assert.equal(decided(end, 'approved') - decided(start, 'approved'), 1);
  assert.equal(decided(end, 'rejected') - decided(start, 'rejected'), 1);
});

test('proxy telemetry - an audit publish that fails is counted by stream and code', async () => {
  const bus = await createBus();
  const recorder = new AuditRecorder(
    bus,
    { timeoutMs: 500, stream: { maxBytes: 1 << 20, replicas: 1, fillAlerts: [0.5] } },
    createLogger({ name: 'proxy', level: 'silent' }),
  );
  await recorder.start();
  const event = buildActionEvent({ phase: 'requested', principal: PRINCIPAL, action: { id: newEventId(), kind: 'http.get', connection: 'api' } });
  const before = await scrape();
  await recorder.record(event);
  await bus.close();
  await assert.rejects(recorder.record({ ...event, event: { ...event.event, id: newEventId() } }), { code: 'ERR_AUDIT_UNAVAILABLE' });
  const text = await scrape();
  assert.equal(
    metricValue(text, 'agentgate_audit_publish_seconds_count', { stream: 'AUDIT_RAW' }) -
      metricValue(before, 'agentgate_audit_publish_seconds_count', { stream: 'AUDIT_RAW' }),
    1,
  );
  assert.equal(
    metricValue(text, 'agentgate_audit_publish_failures_total', { stream: 'AUDIT_RAW', code: 'ERR_BUS_CLOSED' }) -
      metricValue(before, 'agentgate_audit_publish_failures_total', { stream: 'AUDIT_RAW', code: 'ERR_BUS_CLOSED' }),
    1,
  );
  await recorder.settle();
});
