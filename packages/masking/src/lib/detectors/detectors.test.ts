import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FIXTURES } from '../../../test/fixtures.js';
import { createMasker } from '../../index.js';
import { regexBound } from '../regex-bound.js';
import { BUILTIN_DETECTORS } from './index.js';

const masker = createMasker();

describe('detectors', () => {
  test('detectors - at least 40 built-in, ids unique', () => {
    const ids = BUILTIN_DETECTORS.map((d) => d.id);
    assert.ok(ids.length >= 40, `only ${ids.length} detectors`);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('detectors - every detector has positive and negative fixtures', () => {
    for (const d of BUILTIN_DETECTORS) {
      const f = FIXTURES[d.id];
      assert.ok(f, `no fixtures for ${d.id}`);
      assert.ok(f.positive.length > 0 && f.negative.length > 0, `fixtures of ${d.id} incomplete`);
    }
  });

  test('detectors - every pattern is bounded (linear time, finite stream window)', () => {
    for (const d of BUILTIN_DETECTORS) {
      const b = regexBound(d.pattern);
      assert.ok(b.window <= 8192, `${d.id} window ${b.window}`);
    }
  });

  for (const d of BUILTIN_DETECTORS) {
    const f = FIXTURES[d.id];
    if (!f) continue;
    test(`detectors - ${d.id} masks its positives`, () => {
      const only = createMasker({ detectors: [d.id] });
      for (const { text, secret } of f.positive) {
        for (const m of [only, masker]) {
          const r = m.maskText(text);
          assert.ok(!r.text.includes(secret), `${d.id}: secret survived`);
          assert.ok(
            r.findings.some((x) => x.type === d.id),
            `${d.id}: no finding of its type`,
          );
        }
        assert.match(only.maskText(text).text, new RegExp(`\\[REDACTED:${d.id}\\]`));
      }
    });

    test(`detectors - ${d.id} keyword occurs inside every match (prefilter is sound)`, () => {
      const re = new RegExp(d.pattern, `g${d.caseInsensitive ? 'i' : ''}`);
      for (const { text } of f.positive) {
        const found = [...text.matchAll(re)];
        assert.ok(found.length > 0, `${d.id}: regex does not match its positive`);
        for (const m of found) {
          const lower = m[0].toLowerCase();
          assert.ok(
            d.keywords.some((k) => lower.includes(k)),
            `${d.id}: match without keyword`,
          );
        }
      }
    });

    test(`detectors - ${d.id} ignores its negatives`, () => {
      const only = createMasker({ detectors: [d.id] });
      for (const text of f.negative) {
        const r = only.maskText(text);
        assert.deepEqual(r.findings, [], `${d.id} fired on a negative`);
        assert.equal(r.text, text);
      }
    });
  }
});
