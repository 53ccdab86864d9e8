import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { testPrincipal } from '../test/fixtures.js';
import { type AuditEvent, GENESIS_HASH, buildActionEvent, canonicalize, hashEvent, sealEvent, validateEvent, verifyEventHash } from './index.js';

function sample(id: string): AuditEvent {
  return buildActionEvent({
    id,
    phase: 'completed',
    principal: testPrincipal(),
    action: { id: `act-${id}`, kind: 'http.request' },
    now: new Date('2025-06-01T12:00:00.000Z'),
  });
}

test('hash - sha256 over JCS of {event, prev_hash}, excluding event.hash, event.ingested and chain.hash', () => {
  const ev = sample('01JX0000000000000000000001');
  const expected = createHash('sha256').update(canonicalize({ event: ev, prev_hash: GENESIS_HASH })).digest('hex');
  assert.equal(hashEvent(ev, GENESIS_HASH), expected);
  const withHashes = { ...ev, event: { ...ev.event, hash: 'x', ingested: '2025-06-01T12:00:01.000Z' } };
  assert.equal(hashEvent(withHashes, GENESIS_HASH), expected);
  // The input is not modified by hashing.
  assert.equal(withHashes.event.hash, 'x');
});

test('hash - covers content, key order does not matter, prevHash matters', () => {
  const ev = sample('01JX0000000000000000000002');
  const h = hashEvent(ev, GENESIS_HASH);
  assert.match(h, /^[0-9a-f]{64}$/);
  const reordered = Object.fromEntries(Object.entries(ev).reverse()) as AuditEvent;
  assert.notEqual(Object.keys(reordered)[0], Object.keys(ev)[0]);
  assert.equal(hashEvent(reordered, GENESIS_HASH), h);
  assert.notEqual(hashEvent({ ...ev, event: { ...ev.event, outcome: 'failure' } }, GENESIS_HASH), h);
  assert.notEqual(hashEvent(ev, 'a'.repeat(64)), h);
  assert.throws(() => hashEvent(ev, 'not-hex'), { code: 'ERR_HASH_INPUT' });
});

test('hash - seal and verify a chain; tampering, reordering and wrong links are detected', () => {
  let prev = GENESIS_HASH;
  const chain: AuditEvent[] = [];
  for (let i = 0; i < 5; i++) {
    const sealed = sealEvent(sample(`01JX000000000000000000000${i}`), { partition: 'p0', seq: i + 1, prevHash: prev });
    validateEvent(sealed);
    assert.equal(sealed.event.hash, sealed.agentgate.chain?.hash);
    chain.push(sealed);
    prev = sealed.agentgate.chain!.hash;
  }
  prev = GENESIS_HASH;
  for (const ev of chain) {
    assert.equal(verifyEventHash(ev, prev), true);
    prev = ev.agentgate.chain!.hash;
  }
  const edited = { ...chain[2]!, event: { ...chain[2]!.event, outcome: 'failure' as const } };
  assert.equal(verifyEventHash(edited, chain[1]!.agentgate.chain!.hash), false);
  assert.equal(verifyEventHash(chain[3]!, chain[1]!.agentgate.chain!.hash), false);
  const seqEdited = { ...chain[2]!, agentgate: { ...chain[2]!.agentgate, chain: { ...chain[2]!.agentgate.chain!, seq: 9 } } };
  assert.equal(verifyEventHash(seqEdited, chain[1]!.agentgate.chain!.hash), false);
  assert.equal(verifyEventHash(sample('01JX0000000000000000000009'), GENESIS_HASH), false);
});
