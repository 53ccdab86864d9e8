import assert from 'node:assert/strict';
import { test } from 'node:test';
import { searchForm, searchQuery } from './app.js';

test('console search - fields are trimmed and bounded; a time without a zone is UTC; empty fields are left out', () => {
  const f = searchForm({ repository: '  org/repo ', principal: 'x'.repeat(300), from: '2026-11-30T10:00', to: '', extra: 'ignored', rule: ['a', 'b'] });
  assert.equal(f.repository, 'org/repo');
  assert.equal(f.principal.length, 256);
  assert.equal(f.rule, '', 'a repeated key is not a string: empty');
  const q = searchQuery(f);
  assert.equal(q.from, '2026-11-30T10:00:00.000Z');
  assert.equal(q.to, undefined);
  assert.equal(q.repository, 'org/repo');
  assert.equal(q.limit, 200);
  assert.equal(searchQuery(searchForm({ from: '2026-11-30T10:00+02:00' })).from, '2026-11-30T08:00:00.000Z');
});

test('console search - a time it cannot read is ERR_BAD_REQUEST', () => {
  assert.throws(() => searchQuery(searchForm({ to: 'yesterday' })), { code: 'ERR_BAD_REQUEST' });
});
