import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventIdTime, isEventId, newEventId } from '@agentgate/events';
import { exposureEventId } from './exposure-id.js';

test('exposure id - deterministic per (source, ref), event-id shaped, sorted with its source', () => {
  const src = newEventId(Date.UTC(2026, 0, 1));
  const a = exposureEventId(src, 'gh', 0);
  assert.equal(exposureEventId(src, 'gh', 0), a, 'a redelivery yields the same id');
  assert.ok(isEventId(a));
  assert.equal(a.slice(0, 10), src.slice(0, 10), 'same time part as the source');
  assert.notEqual(exposureEventId(src, 'reg', 0), a, 'another ref, another id');
  assert.notEqual(exposureEventId(newEventId(), 'gh', 0), a, 'another source, another id');
});

test('exposure id - a source id that is not event-id shaped takes the time from the timestamp', () => {
  const t = Date.UTC(2026, 0, 1);
  const a = exposureEventId('custom-id', 'gh', t);
  assert.ok(isEventId(a));
  assert.equal(eventIdTime(a), t);
  assert.ok(isEventId(exposureEventId('custom-id', 'gh', Number.NaN)));
});

test('exposure id - the same ids as before it moved onto the events package encoder (pinned vectors)', () => {
  // Computed with the previous implementation (its own Crockford encoder): stored exposure ids keep de-duplicating.
  assert.equal(exposureEventId('01HZY3K5Q8R0000000000000AB', 'gh', 0), '01HZY3K5Q8PPQ7GQ5793KFPKT0');
  assert.equal(exposureEventId('not-an-id', 'gh', 1_700_000_000_000), '01HF7YAT0035EVBHAXZ28NSYHD');
  assert.equal(exposureEventId('x', 'r', -5), '000000000064ME11AB58VFVWRA');
  assert.equal(exposureEventId('x', 'r', Number.NaN), '000000000064ME11AB58VFVWRA');
  assert.equal(exposureEventId('x', 'r', 2 ** 50), '7ZZZZZZZZZ64ME11AB58VFVWRA');
});

test('exposure id - a fractional timestamp is floored (it used to put "undefined" into the id)', () => {
  const a = exposureEventId('x', 'r', 1.5);
  assert.ok(isEventId(a), a);
  assert.equal(a, '000000000164ME11AB58VFVWRA');
});
