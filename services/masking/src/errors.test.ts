import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MaskingServiceError } from './errors.js';

test('errors - every code is documented in the README and carries its cause', () => {
  const codes = [...readFileSync(new URL('./errors.ts', import.meta.url), 'utf8').matchAll(/'(ERR_MASKSVC_[A-Z_]+)'/g)].map((m) => m[1]!);
  assert.ok(codes.length >= 6);
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const code of new Set(codes)) assert.ok(readme.includes(code), `${code} is missing from README.md`);
  const cause = new Error('inner');
  const e = new MaskingServiceError('ERR_MASKSVC_CONFIG', 'bad', { cause });
  assert.equal(e.code, 'ERR_MASKSVC_CONFIG');
  assert.equal(e.cause, cause);
});
