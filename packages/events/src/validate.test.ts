import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testPrincipal } from '../test/fixtures.js';
import { type AuditEvent, EventError, buildActionEvent, isAuditEvent, validateEvent, validatePrincipal } from './index.js';

function sample(): AuditEvent {
  return buildActionEvent({
    phase: 'requested',
    principal: testPrincipal(),
    action: { id: 'act-1', kind: 'http.request', attributes: { anything: { nested: [1, 2] } } },
    labels: { env: 'ci', shard: 3 },
    now: new Date('2025-06-01T12:00:00.000Z'),
  });
}

function issuesOf(x: unknown): string[] {
  try {
    validateEvent(x);
  } catch (err) {
    assert.ok(err instanceof EventError);
    assert.equal(err.code, 'ERR_EVENT_INVALID');
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected ERR_EVENT_INVALID');
}

test('validate - a built event is valid; open objects (policy attributes, labels) accept any keys, agentgate.llm is strict', () => {
  const ev = sample();
  ev.agentgate.action.attributes = { messages: 3, whatever: { deep: true } };
  assert.deepEqual(validateEvent(ev), ev);
  assert.equal(isAuditEvent(ev), true);
  const llm = { ...ev, agentgate: { ...ev.agentgate, llm: { model: 'gpt-4o' } } };
  assert.ok(issuesOf(llm).includes('agentgate.llm.model: unknown key'));
});

test('validate - unknown key in a strict object names the path', () => {
  const ev = sample() as unknown as { event: Record<string, unknown>; agentgate: { action: Record<string, unknown> } };
  ev.event['severity'] = 3;
  ev.agentgate.action['phse'] = 'x';
  const issues = issuesOf(ev);
  assert.ok(issues.includes('event.severity: unknown key'), issues.join('\n'));
  assert.ok(issues.includes('agentgate.action.phse: unknown key'), issues.join('\n'));
});

test('validate - bad enum, missing field and alert kind are named', () => {
  const ev = sample() as unknown as {
    event: Record<string, unknown>;
    agentgate: { action: Record<string, unknown>; session: Record<string, unknown> };
  };
  ev.event['kind'] = 'alert';
  ev.agentgate.action['phase'] = 'exploded';
  delete ev.agentgate.session['id'];
  const issues = issuesOf(ev);
  assert.ok(
    issues.some((i) => i.startsWith('event.kind:')),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.startsWith('agentgate.action.phase: expected one of requested|')),
    issues.join('\n'),
  );
  assert.ok(issues.includes('agentgate.session.id: required (string)'), issues.join('\n'));
});

test('validate - error text names paths, never the offending values', () => {
  const ev = sample() as unknown as { user: Record<string, unknown>; '@timestamp': unknown };
  ev.user['name'] = { token: ['ghp', 'SECRETSECRETSECRETSECRETSECRET123456'].join('_') };
  ev['@timestamp'] = 'yesterday-ghp_SECRET';
  try {
    validateEvent(ev);
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(err instanceof EventError);
    assert.match(err.message, /user\.name/);
    assert.match(err.message, /@timestamp/);
    assert.doesNotMatch(err.message, /ghp_/);
  }
});

test('validate - non-object input and array index paths', () => {
  assert.throws(() => validateEvent(null), { code: 'ERR_EVENT_INVALID' });
  const ev = sample() as unknown as { agentgate: Record<string, unknown> };
  ev.agentgate['git'] = {
    refs: [
      { ref: 'refs/heads/main', old: 'a', new: 'b', kind: 'create' },
      { ref: 'x', old: 'a', new: 'b', kind: 'nuke' },
    ],
  };
  const issues = issuesOf(ev);
  assert.ok(
    issues.some((i) => i.startsWith('agentgate.git.refs[1].kind: expected one of')),
    issues.join('\n'),
  );
});

test('validate - principal shape is checked', () => {
  assert.deepEqual(validatePrincipal(testPrincipal()), testPrincipal());
  assert.throws(() => validatePrincipal({ ...testPrincipal(), ci: { provider: 'jenkins' } }), { code: 'ERR_EVENT_INVALID' });
});
