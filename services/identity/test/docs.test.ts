import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { IDENTITY_ERROR_CODES } from '../src/index.js';
import { profileFor } from '../src/lib/profiles.js';

test('docs - README lists every identity error code', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const code of IDENTITY_ERROR_CODES) assert.ok(readme.includes(`\`${code}\``), `README misses ${code}`);
});

test('docs - the profile table (identity README and main README) lists every required claim of every profile', () => {
  const readmes = [new URL('../README.md', import.meta.url), new URL('../../../README.md', import.meta.url)].map((u) => readFileSync(u, 'utf8'));
  for (const name of ['github-actions', 'gitlab-ci', 'generic'] as const) {
    const required = profileFor(name).required;
    for (const readme of readmes) {
      const row = readme.split('\n').find((l) => l.startsWith(`| ${name} |`));
      assert.ok(row, `a README has no row for profile ${name}`);
      const cell = row.split('|')[2]!;
      const listed = [...cell.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
      assert.deepEqual(listed, [...required], `profile ${name}: README lists ${listed.join(',')}, the profile requires ${required.join(',')}`);
    }
  }
});
