import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { testPrincipal } from '../test/fixtures.js';
import {
  STREAMS,
  SUBJECTS,
  auditStreamConfig,
  buildActionEvent,
  checkpointSubject,
  decodeEvent,
  decodeSubjectToken,
  encodeEvent,
  encodeSubjectToken,
  eventMsgId,
  rawSubject,
} from './index.js';

test('subjects - stream names and subjects are the agreed constants', () => {
  assert.equal(STREAMS.AUDIT_RAW.name, 'AUDIT_RAW');
  assert.deepEqual(STREAMS.AUDIT_RAW.subjects, ['audit.raw.>']);
  assert.deepEqual(STREAMS.AUDIT_CLEAN.subjects, ['audit.clean.>']);
  assert.deepEqual(STREAMS.AUDIT_DLQ.subjects, ['audit.dlq.>']);
  assert.deepEqual(STREAMS.AUDIT_CHECKPOINTS.subjects, ['audit.checkpoint.>']);
  assert.equal(SUBJECTS.IDENTITY_VERIFY, 'identity.verify');
  assert.equal(SUBJECTS.SECRETS_LEASE, 'secrets.lease');
  assert.ok(Object.isFrozen(STREAMS));
});

test('subjects - the raw and clean streams are work queues (kept until processed), dead letters and checkpoints are kept; all deny delete and purge', () => {
  const limits = { maxBytes: 1000, replicas: 3 };
  assert.deepEqual(auditStreamConfig(STREAMS.AUDIT_RAW, limits), {
    name: 'AUDIT_RAW',
    subjects: ['audit.raw.>'],
    retention: 'workqueue',
    maxBytes: 1000,
    replicas: 3,
    denyDelete: true,
    denyPurge: true,
  });
  assert.equal(auditStreamConfig(STREAMS.AUDIT_CLEAN, limits).retention, 'workqueue');
  assert.equal(auditStreamConfig(STREAMS.AUDIT_DLQ, limits).retention, 'limits');
  assert.equal(auditStreamConfig(STREAMS.AUDIT_CHECKPOINTS, { ...limits, maxMsgs: 5 }).retention, 'limits');
  assert.equal(auditStreamConfig(STREAMS.AUDIT_CHECKPOINTS, { ...limits, maxMsgs: 5 }).maxMsgs, 5);
  for (const def of Object.values(STREAMS)) assert.equal(auditStreamConfig(def, limits).denyPurge, true, def.name);
});

test('subjects - tokens never contain . * > or whitespace, and round-trip', () => {
  for (const s of ['octo-org/app:42:1', 'a.b', '*', '>', 'a b\tc\nd', '', '~', 'ünï €😀', 'plain_token-1']) {
    const t = encodeSubjectToken(s);
    assert.match(t, /^[A-Za-z0-9_~-]+$/, s);
    assert.equal(decodeSubjectToken(t), s);
  }
  assert.equal(encodeSubjectToken('a.b'), 'a~2Eb');
  assert.notEqual(encodeSubjectToken('~2E'), encodeSubjectToken('.'));
});

test('subjects - a token of letters, digits, _ and - is itself up to 64 characters; one more character is hashed', () => {
  const safe = 'gh-1234567890_Run-42';
  assert.equal(encodeSubjectToken(safe), safe);
  assert.equal(encodeSubjectToken('a'.repeat(64)), 'a'.repeat(64));
  assert.match(encodeSubjectToken('a'.repeat(65)), /^~h[0-9a-f]{32}$/);
  // One character outside the set anywhere takes the escaping path.
  assert.equal(encodeSubjectToken('gh-1.2'), 'gh-1~2E2');
  assert.equal(encodeSubjectToken('ab/'), 'ab~2F');
});

test('subjects - long tokens are hashed to a bounded, stable token', () => {
  const long = 'x.'.repeat(100);
  const t = encodeSubjectToken(long);
  assert.ok(t.length <= 64);
  assert.equal(t, encodeSubjectToken(long));
  assert.notEqual(t, encodeSubjectToken(`${long}y`));
  assert.equal(decodeSubjectToken(t), null);
});

test('subjects - raw subject from the session; msg id is the event id; bytes round-trip', () => {
  const ev = buildActionEvent({ phase: 'requested', principal: testPrincipal(), action: { id: 'a1', kind: 'http.request' } });
  assert.equal(rawSubject(ev), 'audit.raw.octo-org~2Fapp~3A42~3A1');
  assert.equal(checkpointSubject('p.0'), 'audit.checkpoint.p~2E0');
  assert.equal(eventMsgId(ev), ev.event.id);
  assert.deepEqual(decodeEvent(encodeEvent(ev)), ev);
  assert.throws(() => decodeEvent(new TextEncoder().encode('{nope')), { code: 'ERR_EVENT_INVALID' });
  assert.throws(() => decodeEvent(new TextEncoder().encode('{"event":{}}')), { code: 'ERR_EVENT_INVALID' });
});

/** The encoding as first written (a regex and a Buffer per character): the fast path must give the same tokens. */
function referenceToken(s: string): string {
  if (s === '') return '~';
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9_-]$/.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of Buffer.from(ch, 'utf8')) out += `~${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length > 64) return `~h${createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 32)}`;
  return out;
}

test('subjects - tokens are those of the reference encoding (escapes, code points, lone surrogates, the hashed form)', () => {
  const samples = [
    'octo-org/app:42:1',
    'gh:o/r:9:1',
    'a.b',
    '*',
    'ünï €😀',
    '\ud800x',
    'x\udc00',
    '😀'.repeat(20),
    'a/'.repeat(21),
    'a/'.repeat(22),
    `${'a'.repeat(61)}.`,
    `${'a'.repeat(62)}.`,
  ];
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const alphabet = 'aZ09_-./:*> ~é€😀\ud800';
  for (let n = 0; n < 300; n++) samples.push(Array.from({ length: next() % 40 }, () => alphabet[next() % alphabet.length]).join(''));
  for (const s of samples) assert.equal(encodeSubjectToken(s), referenceToken(s), JSON.stringify(s));
});

test('subjects - rawSubject of the same session twice is the same subject (the memo of session tokens)', () => {
  const e = buildActionEvent({ phase: 'requested', principal: { ...testPrincipal(), sessionId: 'gh:octo/app:7:1' }, action: { id: 'a', kind: 'http.get' } });
  assert.equal(rawSubject(e), 'audit.raw.gh~3Aocto~2Fapp~3A7~3A1');
  assert.equal(rawSubject(e), 'audit.raw.gh~3Aocto~2Fapp~3A7~3A1');
});
