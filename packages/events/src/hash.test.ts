import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { testPrincipal } from '../test/fixtures.js';
import {
  type AuditEvent,
  GENESIS_HASH,
  buildActionEvent,
  canonicalize,
  chainOf,
  hashEvent,
  hashableForm,
  sealEvent,
  upgradeEvent,
  validateEvent,
  verifyEventHash,
} from './index.js';

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
  const expected = createHash('sha256')
    .update(canonicalize({ event: ev, prev_hash: GENESIS_HASH }))
    .digest('hex');
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

test('hash - a sealed event keeps its position in event.sequence and its hash in event.hash (ECS), the link in agentgate.chain', () => {
  const sealed = sealEvent(sample('01JX0000000000000000000003'), { partition: 'p0', seq: 7, prevHash: GENESIS_HASH });
  assert.equal(sealed.event.sequence, 7);
  assert.match(sealed.event.hash ?? '', /^[0-9a-f]{64}$/);
  assert.deepEqual(sealed.agentgate.chain, { partition: 'p0', prev_hash: GENESIS_HASH });
  assert.deepEqual(chainOf(sealed), { partition: 'p0', seq: 7, prevHash: GENESIS_HASH, hash: sealed.event.hash });
  // Resealing a sealed event gives the same seal (a redelivery takes the same slot).
  assert.deepEqual(sealEvent(sealed, { partition: 'p0', seq: 7, prevHash: GENESIS_HASH }), sealed);
});

test('hash - seal and verify a chain; tampering, reordering and wrong links are detected', () => {
  let prev = GENESIS_HASH;
  const chain: AuditEvent[] = [];
  for (let i = 0; i < 5; i++) {
    const sealed = sealEvent(sample(`01JX000000000000000000000${i}`), { partition: 'p0', seq: i + 1, prevHash: prev });
    validateEvent(sealed);
    chain.push(sealed);
    prev = sealed.event.hash!;
  }
  prev = GENESIS_HASH;
  for (const ev of chain) {
    assert.equal(verifyEventHash(ev, prev), true);
    prev = ev.event.hash!;
  }
  const edited = { ...chain[2]!, event: { ...chain[2]!.event, outcome: 'failure' as const } };
  assert.equal(verifyEventHash(edited, chain[1]!.event.hash!), false);
  assert.equal(verifyEventHash(chain[3]!, chain[1]!.event.hash!), false);
  const seqEdited = { ...chain[2]!, event: { ...chain[2]!.event, sequence: 9 } };
  assert.equal(verifyEventHash(seqEdited, chain[1]!.event.hash!), false);
  const partitionEdited = { ...chain[2]!, agentgate: { ...chain[2]!.agentgate, chain: { ...chain[2]!.agentgate.chain!, partition: 'p1' } } };
  assert.equal(verifyEventHash(partitionEdited, chain[1]!.event.hash!), false);
  // A hash field added beside the stored one (outside the hashed form) must agree with it.
  const injected = { ...chain[2]!, agentgate: { ...chain[2]!.agentgate, chain: { ...chain[2]!.agentgate.chain!, hash: 'f'.repeat(64) } } } as AuditEvent;
  assert.equal(verifyEventHash(injected, chain[1]!.event.hash!), false);
  assert.equal(verifyEventHash(sample('01JX0000000000000000000009'), GENESIS_HASH), false);
});

// Sealed by the code of schema version 1 (commit 4c483cc), stored as it was indexed.
const v1Chain = JSON.parse(readFileSync(new URL('../test/fixtures/v1-sealed-chain.json', import.meta.url), 'utf8')) as AuditEvent[];

test('hash - events sealed before schema version 2 verify as they were stored (hash and seq in agentgate.chain)', () => {
  let prev = GENESIS_HASH;
  for (const [i, ev] of v1Chain.entries()) {
    const c = chainOf(ev);
    assert.equal(c?.seq, i + 1);
    assert.equal(verifyEventHash(ev, prev), true, `v1 event ${i + 1}`);
    prev = c!.hash;
  }
  // Still tamper-evident: an edit of a v1 document fails.
  const edited = structuredClone(v1Chain[2]!) as unknown as { agentgate: { decision: { rule: string } } };
  edited.agentgate.decision.rule = 'allow-all';
  assert.equal(verifyEventHash(edited as unknown as AuditEvent, chainOf(v1Chain[1])!.hash), false);
});

test('upgrade - a version 1 event becomes a valid version 2 event with every field in its ECS place', () => {
  const [req, done, denied, approved, refused, mcp] = v1Chain.map((e) => validateEvent(upgradeEvent(e)));
  assert.equal(denied!.event.action, 'git.force_push');
  assert.deepEqual(denied!.rule, { id: 'no-force-push-protected', name: 'no-force-push-protected' });
  assert.equal(denied!.event.reason, 'the history of a protected branch is never rewritten');
  assert.deepEqual(denied!.agentgate.decision, { effect: 'deny' });
  assert.equal(denied!.gen_ai?.tool?.call?.id, 'call_1');
  assert.deepEqual(denied!.user?.group?.name, ['developers']);
  assert.equal(denied!.event.sequence, 3);
  assert.equal(denied!.event.hash, chainOf(v1Chain[2])!.hash);
  assert.deepEqual(Object.keys(denied!.agentgate.chain!).sort(), ['partition', 'prev_hash']);
  assert.equal(req!.gen_ai?.request?.max_tokens, 256);
  assert.deepEqual(req!.gen_ai?.input?.messages.at(-1), { role: 'user', parts: [{ type: 'text', content: 'push the fix' }] });
  // Version 1 wrote the response model as the request model on completed events: the upgrade puts each in its place.
  assert.equal(done!.gen_ai?.request?.model, 'gpt-4o-mini');
  assert.equal(done!.gen_ai?.response?.model, 'gpt-4o-mini-2024-07-18');
  assert.equal(done!.gen_ai?.output?.messages[0]?.finish_reason, 'tool_calls');
  assert.deepEqual(done!.gen_ai?.usage, { input_tokens: 11, output_tokens: 7 });
  assert.deepEqual(done!.gen_ai?.output?.messages[0]?.parts[1], {
    type: 'tool_call',
    id: 'call_1',
    name: 'bash',
    arguments: '{"command":"git push --force origin main"}',
  });
  assert.deepEqual(done!.agentgate.llm, { api: 'chat.completions', stream: true, tools: ['bash'], latency_ms: 12, complete: true });
  assert.equal(approved!.event.reason, 'looks fine');
  assert.deepEqual(refused!.error, { code: 'ERR_TOKEN_INVALID' });
  assert.deepEqual(refused!.agentgate.refusal, { count: 3 });
  assert.equal(mcp!.gen_ai?.tool?.name, 'read_file');
  assert.deepEqual(mcp!.error, { code: '-32602', message: 'bad params' });
  // A current event passes through untouched.
  const cur = sample('01JX0000000000000000000010');
  assert.equal(upgradeEvent(cur), cur);
});

// Sealed by the copying hash code (main at dddaf0d, before the one-pass hashing of issue 21): the
// inputs as they were, and the sealed documents byte for byte. Covers escapes, astral and
// non-ASCII keys, numbers in JCS form, and an input carrying event.hash / event.ingested.
const v2Golden = JSON.parse(readFileSync(new URL('../test/fixtures/v2-sealed-chain.json', import.meta.url), 'utf8')) as {
  inputs: AuditEvent[];
  sealed: AuditEvent[];
};

test('hash - one-pass hashing seals exactly as the copying code did, and its chain verifies', () => {
  let prev = GENESIS_HASH;
  for (const [i, input] of v2Golden.inputs.entries()) {
    const before = JSON.stringify(input);
    const sealed = sealEvent(input, { partition: 'writer-0', seq: i + 1, prevHash: prev });
    assert.equal(JSON.stringify(input), before, 'the input is not modified');
    // Same hash, same document, same key order.
    assert.equal(JSON.stringify(sealed), JSON.stringify(v2Golden.sealed[i]), `event ${i + 1}`);
    assert.equal(verifyEventHash(v2Golden.sealed[i]!, prev), true);
    // The reference definition: sha256(JCS({event: hashableForm, prev_hash})).
    const reference = createHash('sha256')
      .update(canonicalize({ event: hashableForm(sealed), prev_hash: prev }))
      .digest('hex');
    assert.equal(hashEvent(sealed, prev), reference);
    prev = sealed.event.hash!;
  }
  // A key of an odd shape (a class instance where the chain fields live) takes the copying path: same result.
  class Box {
    constructor(readonly v: Record<string, unknown>) {}
    toJSON() {
      return this.v;
    }
  }
  const odd = { ...v2Golden.sealed[0]!, event: new Box({ ...v2Golden.sealed[0]!.event }) } as unknown as AuditEvent;
  const oddReference = createHash('sha256')
    .update(canonicalize({ event: hashableForm(odd), prev_hash: GENESIS_HASH }))
    .digest('hex');
  assert.equal(hashEvent(odd, GENESIS_HASH), oddReference);
});
