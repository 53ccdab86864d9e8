import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { ClassifiedRef } from './classify-refs.js';
import type { GitPushRefusal } from './errors.js';
import { type InspectedPush, pushClassification, settlePush } from './receive-pack.js';
import type { GitRoute } from './route.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);

function inspected(): InspectedPush & { cleaned: number } {
  const refs: ClassifiedRef[] = [
    { ref: 'refs/heads/main', old: A, new: B, kind: 'git.force_push', refType: 'branch', fastForward: false, protected: true },
    { ref: 'refs/heads/topic', old: Z, new: B, kind: 'git.create_ref', refType: 'branch', fastForward: false, protected: false },
  ];
  const push = {
    cleaned: 0,
    refs,
    commits: 2,
    quarantine: { isAncestor: async () => false, countNewCommits: async () => 2 },
    spool: {
      dir: '/nonexistent',
      file: '/nonexistent/body',
      size: 123,
      sha256: 'f'.repeat(64),
      head: { commands: refs, capabilities: ['report-status'], pushOptions: [], shallow: [], packOffset: 0 },
      cleanup: async () => {
        push.cleaned++;
      },
    },
  };
  return push;
}

const route = { repo: 'acme/app', rawRepo: 'acme/app', service: 'git-receive-pack', phase: 'rpc', protocol: 0 } as unknown as GitRoute;
const allow = { effect: 'allow' as const, rule: 'ok', reason: 'allowed' };

test('git push - the classification stage: the most destructive kind, one part per ref, the spooled bytes', () => {
  const c = pushClassification(route, inspected(), Readable.from([]));
  assert.equal(c.kind, 'git.force_push');
  assert.deepEqual(c.attributes.kinds, ['git.force_push', 'git.create_ref']);
  assert.deepEqual(
    c.parts?.actions.map((a) => [a.kind, a.attributes.ref, a.attributes.protected]),
    [
      ['git.force_push', 'refs/heads/main', true],
      ['git.create_ref', 'refs/heads/topic', false],
    ],
  );
  assert.deepEqual(c.bodyDigest, { sha256: 'f'.repeat(64), bytes: 123 });
  assert.equal(c.effect !== undefined, true, 'a push is an effect');
});

test('git push - the settle stage: all allowed forwards and drops the quarantine; one deny refuses every ref and closes the body', async () => {
  const ok = inspected();
  const okBody = Readable.from([]);
  const allowed = settlePush(ok, okBody, [allow, allow]);
  assert.equal(allowed.refusal, undefined);
  assert.deepEqual(
    allowed.audit?.git?.refs.map((r) => r.decision),
    ['allow', 'allow'],
  );
  await new Promise((r) => setImmediate(r));
  assert.equal(ok.cleaned, 1);
  assert.equal(okBody.destroyed, false);

  const denied = inspected();
  const body = Readable.from([]);
  const s = settlePush(denied, body, [{ effect: 'deny', rule: 'no-force', reason: 'denied by rule no-force' }, allow]);
  const refusal = s.refusal as GitPushRefusal;
  assert.equal(refusal.code, 'ERR_POLICY_DENIED');
  assert.deepEqual(refusal.refs, [
    { ref: 'refs/heads/main', reason: 'force-push denied by rule no-force' },
    { ref: 'refs/heads/topic', reason: 'push refused: another ref in this push was denied (all-or-nothing)' },
  ]);
  assert.equal(body.destroyed, true);
  assert.equal(denied.cleaned, 0, 'the pipeline closes the body, and the quarantine with it');
});

test('git push - the settle stage: a review names the approval and keeps the body for the hold', () => {
  const body = Readable.from([]);
  const s = settlePush(inspected(), body, [{ effect: 'review', rule: 'protected', reason: 'needs a human' }, allow]);
  assert.equal((s.refusal as GitPushRefusal).code, 'ERR_APPROVAL_REQUIRED');
  assert.equal((s.refusal as GitPushRefusal).message, 'force-push needs approval (rule protected)');
  assert.equal(body.destroyed, false);
});
