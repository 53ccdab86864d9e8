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
