import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '@agentgate/log';
import { createMasker } from '@agentgate/masking';
import { SecretSet } from './secret-set.js';

const VALUE = 'v4lue_Of_The_Secret!';
const lines: string[] = [];
const log = createLogger({ name: 't', level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
const base = createMasker();

test('secret set - not ready until the first list arrives; a failed refresh keeps the last list', async () => {
  let fail = true;
  let calls = 0;
  const set = new SecretSet(
    base,
    {
      masklist: async () => {
        calls++;
        if (fail) throw Object.assign(new Error('down'), { code: 'ERR_SECRET_UNAVAILABLE' });
        return [{ ref: 'gh', value: VALUE }];
      },
    },
    log,
    { refreshMs: 60_000, missRefreshMs: 5_000 },
  );
  assert.equal(await set.refresh(), false);
  assert.equal(set.active(), undefined, 'fail closed: no masker without the list');
  fail = false;
  assert.equal(await set.refresh(), true);
  assert.equal(set.active()!.masker.maskText(`x ${VALUE} y`).text, 'x [REDACTED:secret:gh] y');
  fail = true;
  assert.equal(await set.refresh(), false);
  assert.ok(set.active()!.refs.has('gh'), 'the last good list stays');
  assert.equal(calls, 3);
  assert.equal(lines.join('').includes(VALUE), false, 'the value is never logged');
});

test('secret set - concurrent refreshes share one request; misses refresh at most once per interval', async () => {
  let calls = 0;
  let now = 1_000_000;
  const set = new SecretSet(
    base,
    {
      masklist: async () => {
        calls++;
        return [{ ref: 'gh', value: VALUE }];
      },
    },
    log,
    { refreshMs: 60_000, missRefreshMs: 5_000, now: () => now },
  );
  await Promise.all([set.refresh(), set.refresh(), set.refresh()]);
  assert.equal(calls, 1);
  await set.refreshForMiss(['gh']);
  assert.equal(calls, 1, 'a known ref is no miss');
  await set.refreshForMiss(['new-ref']);
  await set.refreshForMiss(['new-ref']);
  assert.equal(calls, 2, 'rate-limited');
  now += 5_000;
  await set.refreshForMiss(['new-ref']);
  assert.equal(calls, 3);
});

test('secret set - short values are skipped, odd refs still masked and reported under their configured name', async () => {
  const set = new SecretSet(
    base,
    {
      masklist: async () => [
        { ref: 'short', value: 'pw' },
        { ref: 'has space', value: VALUE },
      ],
    },
    log,
    { refreshMs: 60_000, missRefreshMs: 5_000 },
  );
  await set.refresh();
  const a = set.active()!;
  assert.deepEqual([...a.refs], ['has space']);
  const r = a.masker.maskText(`token ${VALUE}`);
  assert.equal(r.text.includes(VALUE), false);
  assert.equal(a.refOf(r.findings[0]!.ref!), 'has space');
});

test('secret set - with no secrets configured it is ready at once and masks with detectors only', () => {
  const set = new SecretSet(base, undefined, log, { refreshMs: 60_000, missRefreshMs: 5_000 });
  assert.equal(set.active()!.refs.size, 0);
});
