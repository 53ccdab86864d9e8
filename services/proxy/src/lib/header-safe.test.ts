import assert from 'node:assert/strict';
import { validateHeaderValue } from 'node:http';
import { test } from 'node:test';
import fc from 'fast-check';
import { headerText, headerUrl, isHeaderName, quotedText, safeHeaders } from './header-safe.js';

const writable = (v: string) => {
  validateHeaderValue('x-test', v);
  return true;
};

test('header-safe - any string becomes a value node accepts: visible ASCII and space, bounded', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), fc.integer({ min: 4, max: 2000 }), (s, max) => {
      for (const v of [headerText(s, max), quotedText(s, max), headerUrl(s, max)]) {
        assert.match(v, /^[\x20-\x7e]*$/);
        assert.ok(v.length <= max, `${v.length} > ${max}`);
        assert.ok(writable(v));
      }
      assert.ok(!/["\\]/.test(quotedText(s)), 'no quote or backslash inside a quoted-string');
    }),
    { numRuns: 500 },
  );
});

test('header-safe - the reported values: non-ASCII iss, DEL alg, CR LF', () => {
  assert.equal(headerText('issuer http://x/€ is not configured'), 'issuer http://x/? is not configured');
  assert.equal(headerText('alg "RS\u007f"'), 'alg "RS?"');
  assert.equal(quotedText('bad "token"\r\nset-cookie: a\\b'), "bad 'token'??set-cookie: a/b");
  assert.equal(headerText('x'.repeat(5000)).length, 1024);
  assert.equal(headerText(undefined), '');
  assert.equal(headerText('  padded  '), 'padded');
});

test('header-safe - a URL keeps pointing where it pointed: non-ASCII and quotes are percent-encoded', () => {
  assert.equal(headerUrl('https://h/p/€?q="a b"'), 'https://h/p/%E2%82%AC?q=%22a%20b%22');
  assert.equal(headerUrl('https://h/ok?x=1'), 'https://h/ok?x=1');
  // A bound never cuts an escape in half.
  assert.equal(headerUrl('/€€', 8), '/');
});

test('header-safe - header records: bad names dropped, values cleaned, numbers kept', () => {
  assert.deepEqual(
    safeHeaders({ 'www-authenticate': 'Bearer error_description="€"', 'bad name': 'x', 'x-list': ['a\u0000', 'b'], 'content-length': 5, 'x-undef': undefined }),
    {
      'www-authenticate': 'Bearer error_description="?"',
      'x-list': ['a?', 'b'],
      'content-length': 5,
    },
  );
  assert.equal(isHeaderName('x-ok'), true);
  assert.equal(isHeaderName('x ok'), false);
  assert.equal(isHeaderName(''), false);
});
