import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { PROXY_ERROR_CODES, PROXY_ERRORS, ProxyError, statusOf, toProxyError } from './errors.js';

test('errors - every code is documented in ERRORS.md with its status', () => {
  const doc = readFileSync(new URL('../ERRORS.md', import.meta.url), 'utf8');
  for (const code of PROXY_ERROR_CODES) {
    const row = new RegExp(`^\\| \`${code}\` \\| (\\d{3}) \\|`, 'm').exec(doc);
    assert.ok(row, `${code} is missing from ERRORS.md`);
    assert.equal(Number(row[1]), statusOf(code), `${code}: status in ERRORS.md differs from src/errors.ts`);
  }
  const documented = [...doc.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  for (const code of documented) assert.ok(code && code in PROXY_ERRORS, `ERRORS.md lists unknown code ${code}`);
});

test('errors - client errors are 4xx and availability errors 5xx', () => {
  for (const code of PROXY_ERROR_CODES) {
    const s = statusOf(code);
    assert.ok(s >= 400 && s < 600, code);
  }
  assert.equal(new ProxyError('ERR_AUDIT_UNAVAILABLE').status, 503);
  assert.equal(new ProxyError('ERR_PATH_TRAVERSAL').status, 400);
});

test('errors - an unknown error becomes ERR_INTERNAL and keeps its cause out of the message', () => {
  const e = toProxyError(new Error('connect ECONNREFUSED 10.0.0.1 token=abc'));
  assert.equal(e.code, 'ERR_INTERNAL');
  assert.ok(!e.message.includes('abc'));
});
