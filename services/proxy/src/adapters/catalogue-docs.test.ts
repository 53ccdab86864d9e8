import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ACTION_CATALOGUE } from './catalogue.js';
import { betweenMarkers, renderKindsTables } from './catalogue-docs.js';

test('catalogue docs - the README action-kind tables are the catalogue (else run npm run docs:kinds)', () => {
  const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
  const section = betweenMarkers(readme);
  assert.ok(section !== undefined, 'README.md has the action-kinds markers');
  assert.equal(section, renderKindsTables(ACTION_CATALOGUE), 'README.md differs from the catalogue: run `npm run docs:kinds`');
  for (const a of ACTION_CATALOGUE) for (const k of a.kinds) assert.ok(section.includes(`\`${k.kind}\``), k.kind);
});
