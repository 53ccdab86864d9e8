import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { IDENTITY_ERROR_CODES } from '../src/index.js';

test('docs - README lists every identity error code', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const code of IDENTITY_ERROR_CODES) assert.ok(readme.includes(`\`${code}\``), `README misses ${code}`);
});
