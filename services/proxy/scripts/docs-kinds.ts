/**
 * `npm run docs:kinds`: writes the action-kind reference tables of the repository README
 * (between its action-kinds markers) from the adapters' catalogue. A test fails when the
 * README and the catalogue differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ACTION_CATALOGUE } from '../src/adapters/catalogue.js';
import { renderKindsTables, replaceBetweenMarkers } from '../src/adapters/catalogue-docs.js';

const readme = fileURLToPath(new URL('../../../README.md', import.meta.url));
const before = readFileSync(readme, 'utf8');
const after = replaceBetweenMarkers(before, renderKindsTables(ACTION_CATALOGUE));
if (after === before) console.log('README.md: action kinds already up to date');
else {
  writeFileSync(readme, after);
  console.log('README.md: action kinds rewritten from the catalogue');
}
