import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { z } from 'zod';
import { configSchema } from './schema.js';

/** A key that bounds time: it must carry its unit, and the README's Timeouts table must list it. */
const TIME_UNIT = /(Ms|Sec|Seconds)$/;
const TIME_WORDS = new Set(['timeout', 'ttl', 'interval', 'delay', 'wait', 'window', 'cooldown', 'age', 'expiry']);
/** The camelCase words of a key, lower-case (`upstreamIdleTimeoutMs` → upstream, idle, timeout, ms). */
const words = (name: string) => name.split(/(?=[A-Z])/).map((w) => w.toLowerCase());

interface TimeKey {
  readonly path: string;
  readonly default: unknown;
}

/** Every key of the schema (input side, so defaults show) with its dotted path; `[]` for array items. */
function keysOf(schema: unknown): Array<TimeKey & { name: string }> {
  const out: Array<TimeKey & { name: string }> = [];
  const walk = (s: unknown, path: string): void => {
    if (s === null || typeof s !== 'object') return;
    const node = s as Record<string, unknown>;
    for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, unknown>)) {
      const p = path ? `${path}.${name}` : name;
      out.push({ name, path: p, default: (child as { default?: unknown }).default });
      walk(child, p);
    }
    walk(node.items, `${path}[]`);
    // A discriminated union (connections by type) is anyOf/oneOf: every branch's keys count.
    for (const k of ['anyOf', 'oneOf', 'allOf'] as const) for (const branch of (node[k] ?? []) as unknown[]) walk(branch, path);
    walk(node.additionalProperties, `${path}.*`);
  };
  walk(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }), '');
  return out;
}

/** The rows of the README's "## Timeouts" table: first cell → second cell. */
function timeoutsTable(readme: string): Map<string, string> {
  const start = readme.indexOf('\n## Timeouts\n');
  assert.ok(start >= 0, 'README.md has a "## Timeouts" section');
  const end = readme.indexOf('\n## ', start + 1);
  const rows = new Map<string, string>();
  for (const line of readme.slice(start, end < 0 ? undefined : end).split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !cells[1]?.startsWith('`')) continue;
    rows.set(cells[1], cells[2] ?? '');
  }
  return rows;
}

test('timeouts docs - every time key of the configuration is in the README Timeouts table, with its default', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const rows = timeoutsTable(readme);
  const keys = keysOf(configSchema);
  const timed = keys.filter((k) => TIME_UNIT.test(k.name));
  assert.ok(timed.length >= 25, `found ${timed.length} time keys: the schema walk is broken`);
  const seen = new Set<string>();
  for (const k of timed) {
    if (seen.has(k.path)) continue;
    seen.add(k.path);
    // A row names the key first, optionally followed by the connection type it belongs to: `…mirrorTimeoutMs` (git).
    const row = [...rows].find(([cell]) => cell === `\`${k.path}\`` || cell.startsWith(`\`${k.path}\` (`));
    assert.ok(row, `README Timeouts table has no row for ${k.path}`);
    if (k.default !== undefined) assert.equal(row[1], String(k.default), `README Timeouts table: ${k.path} defaults to ${k.default}, not ${row[1]}`);
    else assert.ok(row[1].length > 0, `README Timeouts table: ${k.path} has no default stated`);
  }
});

test('timeouts docs - a key named like a time bound carries its unit (Ms, Sec or Seconds), so the table check sees it', () => {
  const unitless = keysOf(configSchema).filter((k) => words(k.name).some((w) => TIME_WORDS.has(w)) && !TIME_UNIT.test(k.name));
  assert.deepEqual(
    unitless.map((k) => k.path),
    [],
  );
});

test('timeouts docs - the table check reads rows and defaults (a wrong default is caught)', () => {
  const rows = timeoutsTable(
    '# x\n\n## Timeouts\n\n| setting | default | what |\n|---|---|---|\n| `a.bMs` | 5 | x |\n| `c.dMs` (git) | 7 | y |\n\n## Next\n| `e.fMs` | 1 | z |\n',
  );
  assert.deepEqual(
    [...rows],
    [
      ['`a.bMs`', '5'],
      ['`c.dMs` (git)', '7'],
    ],
  );
});
