import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AuditEvent, GENESIS_HASH, sealEvent } from '@agentgate/events';
import { makeEvents } from '../../test/helpers.js';
import type { Sink } from '../sinks/types.js';
import { checkAgainstCheckpoint, classifyInvalid, readEntries, walkSlots } from './verify-steps.js';

function chainOfEvents(n: number): AuditEvent[] {
  let prevHash = GENESIS_HASH;
  return makeEvents(n).map((e, i) => {
    const sealed = sealEvent(e, { partition: 'writer-0', seq: i + 1, prevHash });
    prevHash = sealed.event.hash!;
    return sealed;
  });
}

const sinkOf = (docs: AuditEvent[]): Sink =>
  ({
    async *readChain() {
      for (const doc of docs) yield { id: doc.event.id, doc };
    },
  }) as unknown as Sink;

test('verify steps - an intact chain: every entry valid, no problem in any stage', async () => {
  const entries = await readEntries(sinkOf(chainOfEvents(5)), 'writer-0');
  assert.ok(entries.every((e) => e.valid));
  assert.deepEqual(classifyInvalid(entries), []);
  const problems: never[] = [];
  const slots = walkSlots(entries, problems);
  assert.deepEqual([slots.maxSeq, problems], [5, []]);
  const last = entries[4]!;
  assert.deepEqual(checkAgainstCheckpoint({ partition: 'writer-0', seq: 5, hash: last.chain!.hash, count: 5, time: '' }, slots, problems), []);
});

test('verify steps - classifyInvalid tells an edit from a swap; walkSlots reports a gap once', async () => {
  const docs = chainOfEvents(6);
  const edited = { ...docs[1]!, message: 'edited' } as AuditEvent;
  // Swap the contents of positions 4 and 5 (each keeps the other's chain fields).
  const at4 = { ...docs[4]!, event: { ...docs[4]!.event, sequence: 4 } } as AuditEvent;
  const at5 = { ...docs[3]!, event: { ...docs[3]!.event, sequence: 5 } } as AuditEvent;
  const entries = await readEntries(sinkOf([docs[0]!, edited, at4, at5, docs[5]!]), 'writer-0');
  const problems = classifyInvalid(entries);
  assert.deepEqual(
    problems.map((p) => [p.kind, p.seq]),
    [
      ['modified', 2],
      ['reordered', 4],
      ['reordered', 5],
    ],
  );
  const walked: typeof problems = [];
  const slots = walkSlots(entries, walked);
  assert.deepEqual(
    walked.map((p) => [p.kind, p.seq]),
    [['deleted', 3]],
    'position 3 is missing; the invalid slots are already reported and their successors are not blamed',
  );
  assert.equal(slots.maxSeq, 6);
});

test('verify steps - checkAgainstCheckpoint: a checkpoint past the trail is a cut, another hash at its position a rewrite', async () => {
  const entries = await readEntries(sinkOf(chainOfEvents(3)), 'writer-0');
  const problems: ReturnType<typeof classifyInvalid> = [];
  const slots = walkSlots(entries, problems);
  assert.deepEqual(checkAgainstCheckpoint({ partition: 'writer-0', seq: 5, hash: 'x', count: 5, time: '' }, slots, problems), ['a signed checkpoint covers 5']);
  assert.deepEqual(checkAgainstCheckpoint({ partition: 'writer-0', seq: 2, hash: 'not-the-hash', count: 2, time: '' }, slots, problems), []);
  assert.deepEqual(
    problems.map((p) => [p.kind, p.seq]),
    [['modified', 2]],
  );
  assert.deepEqual(checkAgainstCheckpoint(undefined, slots, problems), []);
});
