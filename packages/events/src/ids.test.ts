import assert from 'node:assert/strict';
import { test } from 'node:test';
import { derivedEventId, eventIdTime, isEventId, newEventId } from './index.js';

test('ids - 26 Crockford base32 characters encoding the time', () => {
  const t = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
  const id = newEventId(t + 10_000_000);
  assert.equal(id.length, 26);
  assert.ok(isEventId(id));
  assert.equal(eventIdTime(id), t + 10_000_000);
  assert.doesNotMatch(id, /[ILOU]/);
});

test('ids - strictly increasing over many ids generated in a tight loop', () => {
  const ids: string[] = [];
  for (let i = 0; i < 200_000; i++) ids.push(newEventId());
  for (let i = 1; i < ids.length; i++) {
    assert.ok(ids[i - 1]! < ids[i]!, `id ${i} not after id ${i - 1}`);
  }
  assert.equal(new Set(ids).size, ids.length);
  const first = eventIdTime(ids[0]!);
  const last = eventIdTime(ids.at(-1)!);
  assert.ok(last >= first);
});

test('ids - same millisecond increments the random part', () => {
  const t = Date.now() + 60_000;
  const a = newEventId(t);
  const b = newEventId(t);
  assert.equal(a.slice(0, 10), b.slice(0, 10));
  assert.ok(a < b);
});

test('ids - monotonic when the clock steps backwards', () => {
  const t = Date.now() + 120_000;
  const a = newEventId(t);
  const b = newEventId(t - 5_000);
  assert.ok(a < b);
  assert.equal(eventIdTime(b), t);
});

test('ids - later millisecond sorts after, across fresh randomness', () => {
  const t = Date.now() + 180_000;
  for (let i = 0; i < 1000; i++) {
    const a = newEventId(t + i * 2);
    const b = newEventId(t + i * 2 + 1);
    assert.ok(a < b);
  }
});

test('ids - rejects an invalid time and malformed ids', () => {
  assert.throws(() => newEventId(-1), { code: 'ERR_EVENT_ID_CLOCK' });
  assert.throws(() => newEventId(2 ** 48), { code: 'ERR_EVENT_ID_CLOCK' });
  assert.equal(isEventId('01ARZ3NDEKTSV4RRFFQ69G5FAV'), true);
  assert.equal(isEventId('01arz3ndektsv4rrffq69g5fav'), false);
  assert.equal(isEventId('81ARZ3NDEKTSV4RRFFQ69G5FAV'), false);
  assert.throws(() => eventIdTime('nope'), { code: 'ERR_EVENT_INVALID' });
});

test('ids - a derived id is the same for the same fact and differs for another', () => {
  const t = Date.UTC(2025, 5, 1, 12, 0, 0, 5);
  const a = derivedEventId(t, ['approval', 'A1', 'approved']);
  assert.ok(isEventId(a));
  assert.equal(eventIdTime(a), t);
  assert.equal(derivedEventId(t, ['approval', 'A1', 'approved']), a);
  assert.notEqual(derivedEventId(t, ['approval', 'A1', 'rejected']), a);
  // Parts are separated, so shifting a boundary is another fact.
  assert.notEqual(derivedEventId(t, ['approval', 'A', '1approved']), a);
  assert.throws(() => derivedEventId(-1, ['x']), { code: 'ERR_EVENT_ID_CLOCK' });
  assert.throws(() => derivedEventId(t, []), { code: 'ERR_EVENT_INVALID' });
});

test('ids - the random part of ids of different milliseconds does not repeat (pooled random bytes are used once)', () => {
  // Last in this file: it moves the process's id clock two minutes ahead.
  const base = Date.now() + 120_000;
  const randoms = new Set<string>();
  // More than one pool of random bytes (4096 / 10 ids per pool).
  for (let i = 0; i < 2000; i++) randoms.add(newEventId(base + i).slice(10));
  assert.equal(randoms.size, 2000);
});
