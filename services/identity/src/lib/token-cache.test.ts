import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenCache } from './token-cache.js';

test('token-cache - key is a hash, never the token', () => {
  const k = TokenCache.key('eyJhbGciOiJSUzI1NiJ9.e30.sig');
  assert.equal(k.length, 43);
  assert.ok(!k.includes('eyJ'));
});

test('token-cache - entry expires at min(exp, now + ttl)', () => {
  let now = 1_000_000;
  const c = new TokenCache<string>(10, 60_000, () => now);
  c.set('a', 'A', now + 5_000);
  c.set('b', 'B', now + 3_600_000);
  now += 5_000;
  assert.equal(c.get('a'), undefined, 'expired at exp');
  assert.equal(c.get('b'), 'B');
  now += 60_000;
  assert.equal(c.get('b'), undefined, 'expired at ttl');
});

test('token-cache - already-expired values are not stored; size 0 disables', () => {
  const c = new TokenCache<string>(10, 60_000, () => 100);
  c.set('a', 'A', 50);
  assert.equal(c.size, 0);
  const off = new TokenCache<string>(0, 60_000);
  off.set('a', 'A', Date.now() + 10_000);
  assert.equal(off.get('a'), undefined);
});

test('token-cache - bounded: the least recently used entry goes first', () => {
  let now = 1_000_000;
  const c = new TokenCache<string>(2, 60_000, () => now);
  c.set('a', 'A', now + 30_000);
  c.set('b', 'B', now + 30_000);
  now += 1;
  assert.equal(c.get('a'), 'A', 'a is now the most recently used');
  c.set('c', 'C', now + 30_000);
  assert.equal(c.size, 2);
  assert.equal(c.get('b'), undefined, 'b, the least recently used, was evicted');
  assert.equal(c.get('a'), 'A');
  assert.equal(c.get('c'), 'C');
  assert.deepEqual({ hits: c.hits, misses: c.misses }, { hits: 3, misses: 1 });
});
