import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testPrincipal } from '../test/fixtures.js';
import { buildActionEvent, buildExposureEvent, buildRefusalEvent, ECS_VERSION, isEventId, UNAUTHENTICATED_SESSION, validateEvent } from './index.js';

const now = new Date('2025-06-01T12:00:00.000Z');

test('builders - requested action fills ECS and agentgate fields uniformly', () => {
  const ev = buildActionEvent({
    phase: 'requested',
    principal: testPrincipal(),
    action: { id: 'act-1', kind: 'git.push', connection: 'github', attributes: { refs: 1 } },
    decision: { effect: 'allow', rule: 'allow-main' },
    http: { request: { method: 'POST', id: 'req-1' } },
    url: { path: '/git/github/app.git/git-receive-pack' },
    source: { ip: '127.0.0.1', port: 5555 },
    destination: { address: 'github.com', port: 443 },
    userAgent: 'git/2.39',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    now,
  });
  assert.deepEqual(validateEvent(ev), ev);
  assert.ok(isEventId(ev.event.id));
  assert.equal(ev['@timestamp'], '2025-06-01T12:00:00.000Z');
  assert.equal(ev.event.kind, 'event');
  assert.equal(ev.event.action, 'git.push');
  assert.deepEqual(ev.event.type, ['start']);
  assert.equal(ev.event.outcome, 'unknown');
  assert.equal(ev.event.dataset, 'agentgate.audit');
  assert.deepEqual(ev.ecs, { version: ECS_VERSION });
  assert.deepEqual(ev.user, { id: 'repo:octo-org/app:ref:refs/heads/main', name: 'octocat', group: { name: ['developers'] } });
  assert.deepEqual(ev.rule, { id: 'allow-main', name: 'allow-main' });
  // ECS says it once: no agentgate.* copy of the subject, groups, action kind or rule.
  assert.deepEqual(ev.agentgate.principal, { issuer: 'https://token.actions.githubusercontent.com', ci: testPrincipal().ci });
  assert.deepEqual(ev.agentgate.decision, { effect: 'allow' });
  assert.deepEqual(Object.keys(ev.agentgate.action).sort(), ['attributes', 'connection', 'id', 'phase']);
  assert.equal(ev.agentgate.session.id, 'octo-org/app:42:1');
  assert.equal(ev.agentgate.principal?.ci?.run, '42');
  assert.deepEqual(ev.related?.hosts, ['github.com']);
  assert.deepEqual(ev.related?.user, ['repo:octo-org/app:ref:refs/heads/main', 'octocat']);
  assert.equal(ev.trace?.id, '4bf92f3577b34da6a3ce929d0e0e4736');
  // Claims stay out of the record: they are unbounded and may be personal data.
  assert.equal(JSON.stringify(ev).includes('claims'), false);
});

test('builders - a denial is event.type denied with outcome failure and the reason', () => {
  const ev = buildActionEvent({
    phase: 'denied',
    principal: testPrincipal(),
    action: { id: 'act-2', kind: 'git.force_push' },
    decision: { effect: 'deny', rule: 'no-force-push', reason: 'force-push to protected ref' },
    now,
  });
  validateEvent(ev);
  assert.deepEqual(ev.event.type, ['denied']);
  assert.equal(ev.event.outcome, 'failure');
  assert.equal(ev.event.reason, 'force-push to protected ref');
  assert.equal(ev.rule?.name, 'no-force-push');
  assert.equal(ev.agentgate.decision?.effect, 'deny');
});

test('builders - a linked action names the proposing tool call in gen_ai.tool.call.id, the exchange in agentgate.link', () => {
  const ev = buildActionEvent({
    phase: 'requested',
    principal: testPrincipal(),
    action: { id: 'act-l', kind: 'git.push' },
    link: { exchange_id: 'ex-1', tool_call_id: 'call_7', rule: 'tool-call-match' },
    now,
  });
  assert.deepEqual(validateEvent(ev).agentgate.link, { exchange_id: 'ex-1', rule: 'tool-call-match' });
  assert.equal(ev.gen_ai?.tool?.call?.id, 'call_7');
  // An adapter's own tool call id (an MCP call) wins.
  const mcp = buildActionEvent({
    phase: 'requested',
    principal: testPrincipal(),
    action: { id: 'act-m', kind: 'mcp.tools.call' },
    link: { exchange_id: 'ex-1', tool_call_id: 'call_7', rule: 'tool-call-match' },
    genAi: { operation: { name: 'execute_tool' }, tool: { name: 'read_file', call: { id: 'call_own' } } },
    now,
  });
  assert.equal(mcp.gen_ai?.tool?.call?.id, 'call_own');
  assert.equal(mcp.gen_ai?.tool?.name, 'read_file');
});

test('builders - completed defaults to success, outcome can be overridden, duration kept', () => {
  const ok = buildActionEvent({ phase: 'completed', principal: testPrincipal(), action: { id: 'a', kind: 'http.request' }, durationNs: 1500, now });
  assert.equal(ok.event.outcome, 'success');
  assert.equal(ok.event.duration, 1500);
  assert.deepEqual(ok.event.category, ['api', 'web']);
  const bad = buildActionEvent({
    phase: 'completed',
    principal: testPrincipal(),
    action: { id: 'a', kind: 'http.request' },
    outcome: 'failure',
    http: { response: { status_code: 502 } },
    now,
  });
  assert.equal(bad.event.outcome, 'failure');
  validateEvent(bad);
});

test('builders - exposure event counts findings and stays kind event', () => {
  const ev = buildExposureEvent({
    principal: testPrincipal(),
    action: { id: 'act-3', kind: 'llm.exchange' },
    secretRef: 'openai-key',
    findings: [
      { type: 'openai', ref: 'openai-key', count: 2 },
      { type: 'entropy', count: 1 },
    ],
    genAi: { request: { model: 'gpt-4o' }, provider: { name: 'openai' } },
    now,
  });
  validateEvent(ev);
  assert.equal(ev.event.kind, 'event');
  assert.equal(ev.agentgate.action.phase, 'exposure');
  assert.equal(ev.agentgate.masking?.count, 3);
  assert.equal(ev.agentgate.exposure?.secret_ref, 'openai-key');
  assert.equal(ev.gen_ai?.request?.model, 'gpt-4o');
});

test('builders - an approval decision carries structured approval fields and names the approver as a related user', () => {
  const sha = 'a'.repeat(64);
  const ev = buildActionEvent({
    phase: 'approved',
    principal: testPrincipal(),
    action: { id: 'act-9', kind: 'http.post', connection: 'api' },
    decision: { effect: 'review', rule: 'admin-review' },
    approval: {
      id: 'act-9',
      status: 'approved',
      expires_at: '2025-06-01T12:05:00.000Z',
      decided_at: '2025-06-01T12:01:00.000Z',
      reason: 'looks fine',
      approver: { subject: 'repo:ops/console:ref:refs/heads/main', issuer: 'https://issuer.test', groups: ['release-managers'] },
      body_sha256: sha,
      body_bytes: 30,
      binding_sha256: sha,
      policy_version: sha,
      decided_via: 'gw-2',
    },
    categories: ['iam'],
    now,
  });
  assert.deepEqual(validateEvent(ev), ev);
  assert.equal(ev.agentgate.approval?.approver?.subject, 'repo:ops/console:ref:refs/heads/main');
  assert.deepEqual(ev.agentgate.approval?.approver?.groups, ['release-managers']);
  assert.equal(ev.agentgate.approval?.body_sha256, sha);
  assert.ok(ev.related?.user?.includes('repo:ops/console:ref:refs/heads/main'));
  assert.equal(ev.labels, undefined, 'approval facts are fields, not labels');
  assert.ok(ev.event.category.includes('iam'));
  const bad = structuredClone(ev);
  (bad.agentgate.approval as { body_sha256: string }).body_sha256 = 'not-a-digest';
  assert.throws(() => validateEvent(bad), { code: 'ERR_EVENT_INVALID' });
});

test('builders - a Kubernetes call carries agentgate.kubernetes (verb, resource, namespace, name)', () => {
  const ev = buildActionEvent({
    phase: 'denied',
    principal: testPrincipal(),
    action: { id: 'act-k', kind: 'kubernetes.delete', connection: 'cluster', attributes: { verb: 'delete' } },
    decision: { effect: 'deny', rule: 'no-delete-prod' },
    kubernetes: { verb: 'delete', api_group: 'apps', api_version: 'apps/v1', resource: 'deployments', namespace: 'prod', name: 'web', dry_run: false },
    now,
  });
  assert.deepEqual(validateEvent(ev), ev);
  assert.equal(ev.agentgate.kubernetes?.namespace, 'prod');
  assert.equal(ev.event.outcome, 'failure');
  assert.deepEqual(ev.event.category, ['api', 'configuration']);
  // Strict: a misspelt field is refused, never indexed silently.
  const bad = { ...ev, agentgate: { ...ev.agentgate, kubernetes: { verb: 'get', namespcae: 'x' } } };
  assert.throws(() => validateEvent(bad));
});

test('builders - a refusal before authentication is an ECS authentication failure with its count and window, no principal', () => {
  const first = new Date('2025-06-01T11:59:00.000Z');
  const ev = buildRefusalEvent({
    code: 'ERR_AUTH_INVALID',
    reason: 'the token was refused',
    count: 250,
    first,
    last: now,
    source: { ip: '203.0.113.7' },
    connection: 'github',
    observerName: 'gw-1',
    now,
  });
  assert.deepEqual(validateEvent(ev), ev);
  assert.deepEqual(ev.event.category, ['authentication']);
  assert.deepEqual(ev.event.type, ['start']);
  assert.equal(ev.event.outcome, 'failure');
  assert.equal(ev.event.reason, 'the token was refused');
  assert.equal(ev.event.start, '2025-06-01T11:59:00.000Z');
  assert.equal(ev.event.end, '2025-06-01T12:00:00.000Z');
  assert.equal(ev.agentgate.action.phase, 'refused');
  assert.equal(ev.agentgate.action.connection, 'github');
  assert.deepEqual(ev.agentgate.refusal, { count: 250 });
  assert.deepEqual(ev.error, { code: 'ERR_AUTH_INVALID' });
  assert.equal(ev.event.action, 'auth.refused');
  assert.equal(ev.agentgate.session.id, UNAUTHENTICATED_SESSION);
  assert.equal(ev.source?.ip, '203.0.113.7');
  assert.equal(ev.user, undefined);
  assert.equal(ev.agentgate.principal, undefined);
  // Strict: a count of 0 stands for nothing and is refused.
  assert.throws(() => validateEvent({ ...ev, agentgate: { ...ev.agentgate, refusal: { count: 0 } } }));
});

test('builders - a registry action carries agentgate.registry, validated strictly', () => {
  const registry = {
    repository: 'acme/app',
    tag: 'v1',
    digest: `sha256:${'a'.repeat(64)}`,
    tag_existed: true,
    previous_digest: `sha256:${'b'.repeat(64)}`,
    size: 512,
  };
  const ev = buildActionEvent({
    phase: 'denied',
    principal: testPrincipal(),
    action: { id: 'act-r', kind: 'registry.tag_overwrite', connection: 'hub' },
    registry,
    now,
  });
  assert.deepEqual(validateEvent(ev).agentgate.registry, registry);
  assert.deepEqual(ev.event.category, ['api', 'configuration']);
  assert.throws(() => validateEvent({ ...ev, agentgate: { ...ev.agentgate, registry: { ...registry, unknown: 1 } } }));
  assert.throws(() => validateEvent({ ...ev, agentgate: { ...ev.agentgate, registry: { tag: 'v1' } } }), 'repository is required');
});
