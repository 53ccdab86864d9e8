import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type AuditEvent, buildActionEvent, type Principal } from '@agentgate/events';
import { tempDir } from '@agentgate/testkit';
import { buildTrail, formatTrail, trail } from './trail.js';

const principal: Principal = {
  issuer: 'https://ci',
  subject: 'repo:acme/app',
  groups: [],
  claims: {},
  ci: { provider: 'github-actions', repository: 'acme/app' },
  sessionId: 's-1',
  expiresAt: 2_000_000_000,
};
let clock = Date.parse('2026-01-01T10:00:00Z');
function ev(input: Omit<Parameters<typeof buildActionEvent>[0], 'principal' | 'now'>): AuditEvent {
  clock += 1000;
  return buildActionEvent({ principal, now: new Date(clock), ...input });
}

function session(): AuditEvent[] {
  const exchange = { id: 'ex1', kind: 'llm.exchange', connection: 'model' };
  const text = (content: string) => [{ type: 'text' as const, content }];
  const genAi = {
    request: { model: 'gpt-4o-mini' },
    input: {
      messages: [
        { role: 'system', parts: text('be careful') },
        { role: 'user', parts: text('fix the typo on main') },
      ],
    },
  };
  const force = { id: 'a2', kind: 'git.force_push', connection: 'git' };
  return [
    ev({ phase: 'requested', action: exchange, decision: { effect: 'allow', rule: 'llm-ok' }, genAi }),
    ev({
      phase: 'completed',
      action: exchange,
      decision: { effect: 'allow', rule: 'llm-ok' },
      http: { response: { status_code: 200 } },
      genAi: {
        ...genAi,
        output: {
          messages: [
            { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_f', name: 'bash', arguments: '{"command":"git push --force origin main"}' }] },
          ],
        },
      },
    }),
    ev({
      phase: 'denied',
      action: force,
      decision: { effect: 'deny', rule: 'no-force-push', reason: 'history is never rewritten' },
      git: { refs: [{ ref: 'refs/heads/main', old: 'a'.repeat(40), new: 'b'.repeat(40), kind: 'force-push' }] },
      link: { exchange_id: 'ex1', tool_call_id: 'call_f', rule: 'tool-call-match' },
    }),
    ev({
      phase: 'requested',
      action: { id: 'ex2', kind: 'llm.exchange' },
      genAi: { input: { messages: [{ role: 'user', parts: text('pw [REDACTED:secret:db]') }] } },
      masking: { count: 1, findings: [{ type: 'secret', ref: 'db', count: 1 }] },
    }),
  ];
}

test('trail - steps fold phases per action and resolve the link to the proposing step', () => {
  const steps = buildTrail(session().reverse());
  assert.equal(steps.length, 3);
  const [ex, force, leak] = steps;
  assert.equal(ex?.outcome, 'completed');
  assert.equal(ex?.prompt, 'fix the typo on main');
  assert.deepEqual(ex?.toolCalls, [{ id: 'call_f', name: 'bash', summary: 'git push --force origin main' }]);
  assert.deepEqual(force?.link, { exchangeId: 'ex1', exchangeStep: 1, toolCallId: 'call_f', rule: 'tool-call-match' });
  assert.equal(force?.outcome, 'denied');
  assert.deepEqual(leak?.masked, { count: 1, kinds: ['db'] });
});

test('trail - the text shows prompt, tool call, action, decision and rule, and flags masked secrets', () => {
  const lines = formatTrail('s-1', buildTrail(session()));
  const text = lines.join('\n');
  assert.match(lines[1] ?? '', /1\. 10:00:0\d {2}llm exchange model gpt-4o-mini {2}allowed \(rule llm-ok\) → completed 200/);
  assert.match(text, /prompt: "fix the typo on main"\n\s+tool call bash \[call_f\]: git push --force origin main/);
  assert.match(
    text,
    /2\. .*git\.force_push refs\/heads\/main \(force-push\) {2}DENIED \(rule no-force-push\): history is never rewritten\n\s+proposed by step 1 tool call call_f \(tool-call-match\)/,
  );
  assert.match(text, /! 1 secret\(s\) masked: db/);
});

test('trail - the command reads the local store, prints JSON on request, and exits 1 for an unknown session', async () => {
  const dir = tempDir('trail-cmd');
  try {
    const store = join(dir.path, 'audit');
    mkdirSync(store);
    writeFileSync(
      join(store, 'audit-2026.01.01.jsonl'),
      `${session()
        .map((e) => JSON.stringify({ id: e.event.id, doc: e }))
        .join('\n')}\n`,
    );
    const cfg = join(dir.path, 'agentgate.yaml');
    writeFileSync(cfg, `audit: { sinks: [{ type: local, path: ${store} }] }\n`);
    const out: string[] = [];
    assert.equal(await trail(['s-1', '--config', cfg, '--json'], { out: (l) => out.push(l), err: () => {} }), 0);
    const parsed = JSON.parse(out[0] ?? '') as { session: string; steps: Array<{ kind: string }> };
    assert.deepEqual(
      parsed.steps.map((s) => s.kind),
      ['llm.exchange', 'git.force_push', 'llm.exchange'],
    );
    const err: string[] = [];
    assert.equal(await trail(['nope', '--config', cfg], { out: () => {}, err: (l) => err.push(l) }), 1);
    assert.match(err[0] ?? '', /no events for session "nope"/);
  } finally {
    dir.cleanup();
  }
});

test('trail - a held action reads as what became of it: approved by whom then its outcome, rejected, or still held', () => {
  const review = { effect: 'review' as const, rule: 'force-needs-approval' };
  const held = (id: string) =>
    ev({ phase: 'held', action: { id, kind: 'git.force_push', connection: 'git' }, decision: review, approval: { id, status: 'pending' } });
  const approver = { subject: 'alice', groups: ['release-managers'] };
  const events = [
    held('h1'),
    ev({
      phase: 'approved',
      action: { id: 'h1', kind: 'git.force_push', connection: 'git' },
      decision: review,
      approval: { id: 'h1', status: 'approved', approver, reason: 'hotfix' },
    }),
    ev({ phase: 'completed', action: { id: 'h1', kind: 'git.force_push', connection: 'git' }, decision: review, http: { response: { status_code: 200 } } }),
    held('h2'),
    ev({
      phase: 'rejected',
      action: { id: 'h2', kind: 'git.force_push', connection: 'git' },
      decision: review,
      approval: { id: 'h2', status: 'rejected', approver, reason: 'not on main' },
    }),
    held('h3'),
  ];
  const lines = formatTrail('s-1', buildTrail(events));
  assert.match(lines[1] ?? '', /HELD for approval \(rule force-needs-approval\) \[h1\] → approved by alice → completed 200$/);
  assert.match(lines[2] ?? '', /HELD for approval \(rule force-needs-approval\) \[h2\] → REJECTED by alice: not on main$/);
  assert.match(lines[3] ?? '', /HELD for approval \(rule force-needs-approval\) \[h3\]$/);
});
