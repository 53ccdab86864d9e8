import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildActionEvent, encodeEvent, newEventId, validateEvent } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { createMasker } from '@agentgate/masking';
import { decodeRaw, maskEvent } from './mask-event.js';
import { SecretSet } from './secret-set.js';

const VALUE = 'v4lue_Of_The_Secret!';
const set = new SecretSet(createMasker(), { masklist: async () => [{ ref: 'conn/gh', value: VALUE }] }, createLogger({ name: 't', level: 'silent' }), {
  refreshMs: 60_000,
  missRefreshMs: 5_000,
});
await set.refresh();
const active = set.active()!;

function event(attributes: Record<string, unknown>, principal = true) {
  const ev = buildActionEvent({
    phase: 'completed',
    principal: { issuer: 'iss', subject: 'sub', groups: ['g'], claims: {}, ci: { provider: 'generic' }, sessionId: 's-1', expiresAt: 0 },
    action: { id: 'a-1', kind: 'http.request', connection: 'github', attributes },
    masking: {
      count: 2,
      findings: [
        { type: 'secret', ref: 'conn/gh', count: 1 },
        { type: 'bearer', count: 1 },
      ],
    },
    traceId: 'trace-1',
  });
  if (!principal) delete ev.agentgate.principal;
  return ev;
}

test('mask event - findings merge with what the proxy already masked, by type and ref, without paths', () => {
  const m = maskEvent(event({ a: VALUE, b: `x ${VALUE}` }), active);
  assert.deepEqual(m.clean.agentgate.masking, {
    count: 4,
    findings: [
      { type: 'secret', ref: 'conn/gh', count: 3 },
      { type: 'bearer', count: 1 },
    ],
  });
  assert.equal(m.count, 2);
  assert.equal(JSON.stringify(m.clean).includes(VALUE), false);
});

test('mask event - one exposure per ref, built from the clean copy, valid, no principal invented', () => {
  const src = event({ a: VALUE }, false);
  const m = maskEvent(src, active);
  assert.equal(m.exposures.length, 1);
  const x = validateEvent(m.exposures[0]);
  assert.equal(x.agentgate.exposure?.secret_ref, 'conn/gh');
  assert.deepEqual(x.agentgate.masking, { count: 1, findings: [{ type: 'secret', ref: 'conn/gh', count: 1 }] });
  assert.equal(x.agentgate.principal, undefined);
  assert.equal(x.trace?.id, 'trace-1');
  assert.equal(x['@timestamp'], src['@timestamp']);
  assert.equal(maskEvent(event({ a: 'nothing' }), active).exposures.length, 0);
});

test('mask event - an event id that masking would change is refused', () => {
  const ev = event({});
  ev.event.id = `id-${VALUE}`;
  assert.throws(() => maskEvent(ev, active), { code: 'ERR_MASKSVC_IDENTITY_CHANGED' });
});

test('mask event - decodeRaw tells bad JSON from a bad event, without echoing values', () => {
  assert.throws(() => decodeRaw(new TextEncoder().encode(`{ ${VALUE}`)), { code: 'ERR_MASKSVC_BAD_JSON' });
  assert.throws(() => decodeRaw(new Uint8Array([0xff, 0xfe])), { code: 'ERR_MASKSVC_BAD_JSON' });
  assert.throws(
    () => decodeRaw(new TextEncoder().encode(JSON.stringify({ secret: VALUE }))),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_MASKSVC_INVALID_EVENT');
      assert.equal(err.message.includes(VALUE), false);
      return true;
    },
  );
  const ok = event({});
  assert.equal(decodeRaw(encodeEvent(ok)).event.id, ok.event.id);
  assert.ok(newEventId());
});

test('mask event - an event the masker changed is validated again (dead-lettered if invalid); one it left untouched is passed as it is', () => {
  const withMasker = (maskJson: (v: unknown) => { value: unknown; findings: { type: string; count: number }[] }) =>
    ({ ...active, masker: { ...active.masker, maskJson } }) as unknown as typeof active;
  // A finding that broke the event's shape: refused, never passed on.
  const broke = withMasker((v) => ({ value: { ...(v as object), '@timestamp': 42 }, findings: [{ type: 'x', count: 1 }] }));
  assert.throws(() => maskEvent(event({}), broke), { code: 'ERR_MASKSVC_IDENTITY_CHANGED' });
  // No finding: the input itself is the clean event (shared, not copied; it was validated by decodeRaw).
  const ev = validateEvent(event({ a: 'nothing' }));
  const before = structuredClone(ev);
  const m = maskEvent(ev, active);
  assert.equal(m.count, 0);
  assert.equal(m.clean, ev, 'the input object, not a copy');
  assert.deepEqual(ev, before);
});

test('mask event - a finding outside agentgate: the totals go on copies, the input event is never changed', () => {
  // The masker shares the objects it left unchanged (agentgate here): the service must not write into them.
  const ev = validateEvent({ ...event({ a: 'nothing' }), url: { full: `https://x.example/?k=${VALUE}` } });
  const before = structuredClone(ev);
  const m = maskEvent(ev, active);
  assert.equal(m.count, 1);
  assert.deepEqual(ev, before, 'the input event is unchanged');
  assert.equal(ev.agentgate.masking?.count, 2);
  assert.equal(m.clean.agentgate.masking?.count, 3);
  assert.equal(m.clean.url?.full, 'https://x.example/?k=[REDACTED:secret:conn/gh]');
  // Unchanged parts are shared, the changed path is new.
  assert.equal(m.clean.agentgate.action, ev.agentgate.action);
  assert.notEqual(m.clean.agentgate, ev.agentgate);
  assert.equal(m.exposures.length, 1);
});
