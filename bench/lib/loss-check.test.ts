import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareEvents } from './loss-check.js';
import { traceIdOf } from './trace-id.js';

const P = 'abcdef0102';
const both = { requested: 1, completed: 1 };

function found(rows: Array<[number, Record<string, number>]>): Map<string, Record<string, number>> {
  return new Map(rows.map(([n, r]) => [traceIdOf(P, n), { ...r }]));
}

test('loss check - every 200 with one requested and one completed event passes', () => {
  const r = compareEvents(
    found([
      [0, both],
      [1, both],
      [2, both],
    ]),
    P,
    3,
    [],
    0,
  );
  assert.deepEqual(
    { checked: r.checked, missing: r.missing, duplicated: r.duplicated, unknown: r.unknown, exact: r.exact },
    {
      checked: 3,
      missing: 0,
      duplicated: 0,
      unknown: 0,
      exact: true,
    },
  );
  assert.deepEqual(r.byPhase, { requested: 3, completed: 3 });
});

test('loss check - a missing completed event, a duplicate and an unknown trace id are counted', () => {
  const r = compareEvents(
    found([
      [0, both],
      [1, { requested: 1 }],
      [2, { requested: 1, completed: 2 }],
      [7, both],
    ]),
    P,
    4,
    [],
    0,
  );
  assert.equal(r.missing, 2, 'request 1 lacks its completed event, request 3 has none');
  assert.deepEqual(r.examples, [traceIdOf(P, 1), traceIdOf(P, 3)]);
  assert.equal(r.duplicated, 1);
  assert.equal(r.unknown, 1, 'request 7 was never sent');
});

test('loss check - failed requests are not expected in the index; past the kept list the check says it is not exact', () => {
  const exact = compareEvents(found([[0, both]]), P, 2, [1], 1);
  assert.equal(exact.missing, 0);
  assert.equal(exact.exact, true);
  const inexact = compareEvents(found([[0, both]]), P, 3, [1], 2);
  assert.equal(inexact.missing, 0, 'request 2 failed too but its number was not kept');
  assert.equal(inexact.exact, false);
});
