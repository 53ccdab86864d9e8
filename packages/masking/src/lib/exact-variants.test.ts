import assert from 'node:assert/strict';
import { test } from 'node:test';
import { secretVariants } from './exact-variants.js';

const value = 'pA55-w0rd/with+stuff&"q"';

test('exact-variants - include raw, JSON, URL, XML, hex and base64 forms', () => {
  const v = secretVariants(value);
  assert.ok(v.includes(value));
  assert.ok(v.includes(JSON.stringify(value).slice(1, -1)));
  assert.ok(v.includes(encodeURIComponent(value)));
  assert.ok(v.includes(Buffer.from(value).toString('hex')));
  assert.ok(v.includes(Buffer.from(value).toString('hex').toUpperCase()));
  assert.ok(v.includes(Buffer.from(value).toString('base64')));
  assert.ok(v.includes(Buffer.from(value).toString('base64url')));
  assert.ok(v.some((x) => x.includes('&amp;')));
});

test('exact-variants - a base64 core occurs in base64(prefix + value + suffix) for every alignment', () => {
  const v = secretVariants(value);
  for (const prefix of ['', 'u', 'us', 'user:', 'Basic x:']) {
    for (const suffix of ['', '\n', 'xy']) {
      const enc = Buffer.from(prefix + value + suffix).toString('base64');
      const encUrl = Buffer.from(prefix + value + suffix).toString('base64url');
      assert.ok(
        v.some((x) => enc.includes(x) && x.length >= 20),
        `prefix ${prefix.length} suffix ${suffix.length}`,
      );
      assert.ok(
        v.some((x) => encUrl.includes(x) && x.length >= 20),
        `url prefix ${prefix.length}`,
      );
    }
  }
});

test('exact-variants - no variant shorter than 8 besides the raw value', () => {
  const v = secretVariants('abcdef');
  assert.ok(v.every((x) => x === 'abcdef' || x.length >= 8));
});
