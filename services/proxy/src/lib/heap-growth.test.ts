import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { HEAP_GROWING_PERCENT, tuneHeapGrowth } from './heap-growth.js';

test('tuneHeapGrowth leaves an operator-chosen --heap-growing-percent alone', () => {
  assert.equal(tuneHeapGrowth(['--heap-growing-percent=50'], undefined), undefined);
  assert.equal(tuneHeapGrowth([], '--max-old-space-size=512 --heap_growing_percent=80'), undefined);
});

test('tuneHeapGrowth sets V8 growing factor: the next mark-compact sizes the old-generation limit at (1 + percent/100) x the live heap', () => {
  // In a child: the flag is process-wide, and --trace-gc-verbose prints the factor V8 used.
  const script = `
    const { tuneHeapGrowth } = await import(${JSON.stringify(new URL('./heap-growth.ts', import.meta.url).href)});
    if (tuneHeapGrowth([], undefined) !== ${HEAP_GROWING_PERCENT}) process.exit(3);
    const keep = []; for (let i = 0; i < 2e6; i++) keep.push({ i });
    globalThis.keep = keep;`;
  const out = execFileSync(process.execPath, ['--trace-gc', '--trace-gc-verbose', '--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const factors = [...out.matchAll(/\[HeapController\] Limit: .*\(([\d.]+)\)/g)].map((m) => Number(m[1]));
  assert.ok(factors.length > 0, 'the child ran at least one mark-compact');
  assert.ok(
    factors.every((f) => f === 1 + HEAP_GROWING_PERCENT / 100),
    `factors ${factors.join(', ')}`,
  );
});
