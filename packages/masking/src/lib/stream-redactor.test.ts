import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ALNUM, FIXTURES, gen } from '../../test/fixtures.js';
import { createMasker } from '../index.js';
import type { Finding, Masker } from '../types.js';

const secretA = `Sa${gen(ALNUM, 18)}`;
const secretB = `日本-${gen(ALNUM, 12)}`;
const secrets = [
  { ref: 'conn/a', value: secretA },
  { ref: 'conn/b', value: secretB },
];
const full = createMasker({ secrets });
// A small window makes many cuts per input, which is where chunking bugs live.
const small = createMasker({
  secrets,
  detectors: ['github-token', 'aws-access-key-id', 'generic-secret', 'url-credentials', 'slack-token', 'bearer-token'],
});

// Exact forms only (as the proxy masks git and credential-only connections): the cut follows partial matches.
const exactOnly = createMasker({ secrets, detectors: [], entropy: false });

const positives = Object.values(FIXTURES).flatMap((f) => f.positive.map((p) => p.text));
const nearMisses = Object.values(FIXTURES).flatMap((f) => f.negative);
const fragments = [
  ...positives,
  ...nearMisses,
  secretA,
  secretB,
  Buffer.from(`u:${secretA}`).toString('base64'),
  Buffer.from(secretB).toString('hex'),
  encodeURIComponent(secretB),
  'password=',
  'ghp_',
  '-----BEGIN',
  'eyJ',
  'héllo wörld ✓ ',
  '\n',
  // Forms found on the normalised view (JSON escapes decoded, base64 line wrapping removed) and pieces of
  // its units, so cuts land inside escapes, backslash runs and line breaks.
  ...wrapped(Buffer.from(`user:${secretA}`).toString('base64'), 60, '\n'),
  ...wrapped(Buffer.from(`ab${secretB}`).toString('base64'), 76, '\r\n   '),
  ...wrapped(Buffer.from(`xyz${secretA}`).toString('base64'), 20, '\\n'),
  Buffer.from(Buffer.from(`x-access-token:${secretA}`).toString('base64')).toString('base64'),
  [...secretA].map((c, i) => (i % 2 === 0 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c)).join(''),
  JSON.stringify(secretB)
    .slice(1, -1)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`),
  '\\u00',
  '\\\\',
  '\\/',
  '\\n',
  '  \r\n  ',
];

/** A base64 string wrapped at `width` columns, as separate pieces (whole, and line by line). */
function wrapped(b64: string, width: number, eol: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return [lines.join(eol), ...lines.map((l) => `${l}${eol}`)];
}

const pieceArb = fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 40 }), fc.stringMatching(/^[A-Za-z0-9_=:. -]{0,60}$/));
const textArb = fc.array(pieceArb, { maxLength: 120 }).map((a) => a.join(''));
const chunkSizesArb = fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 20 });

function runStream(m: Masker, bytes: Buffer, sizes: readonly number[]): { out: Buffer; findings: Finding[] } {
  const r = m.stream();
  const outs: Uint8Array[] = [];
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    const n = sizes[i++ % sizes.length]!;
    outs.push(r.push(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  outs.push(r.end());
  return { out: Buffer.concat(outs), findings: r.findings() };
}

function sortF(f: Finding[]): Finding[] {
  return [...f].sort((a, b) => `${a.type}${a.ref}`.localeCompare(`${b.type}${b.ref}`));
}

describe('stream redactor', () => {
  for (const [name, m] of [
    ['full catalog', full],
    ['small window', small],
    ['exact forms only', exactOnly],
  ] as const) {
    test(`stream redactor - any chunking equals masking the whole input (${name})`, () => {
      fc.assert(
        fc.property(textArb, chunkSizesArb, fc.integer({ min: 0, max: 4 }), (text, sizes, repeat) => {
          // Repeat so inputs exceed the hold-back and the cut logic runs many times.
          const whole = Buffer.from(text.repeat(1 + repeat * 40));
          const expected = m.maskBytes(whole);
          const got = runStream(m, whole, sizes);
          assert.ok(got.out.equals(Buffer.from(expected.bytes)), 'stream output differs from whole-input masking');
          assert.deepEqual(sortF(got.findings), sortF(expected.findings));
        }),
        { numRuns: Number(process.env.PROPERTY_RUNS ?? 60) },
      );
    });
  }

  test('stream redactor - a secret split at every possible byte is masked', () => {
    const text = `before ${secretA} mid ${secretB} ghp_${gen(ALNUM, 36)} after`;
    const bytes = Buffer.from(text);
    const expected = Buffer.from(full.maskText(text).text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const r = full.stream();
      const out = Buffer.concat([r.push(bytes.subarray(0, cut)), r.push(bytes.subarray(cut)), r.end()]);
      assert.ok(out.equals(expected), `split at ${cut}`);
    }
  });

  test('stream redactor - lookbehind context survives a cut at any offset', () => {
    // A letter right before "ghp_" means no token; a cut between them must not change that.
    const near = `xghp_${gen(ALNUM, 36)} and AKIA${gen(ALNUM, 4)}`;
    const tiny = createMasker({ detectors: ['github-token', 'aws-access-key-id'] });
    for (let pad = 0; pad <= tiny.window + 2; pad++) {
      const text = `${'.'.repeat(pad)}${'-'.repeat(tiny.window)}${near}${'.'.repeat(tiny.window)}`;
      const got = runStream(tiny, Buffer.from(text), [1]);
      assert.equal(got.out.toString(), tiny.maskText(text).text, `pad ${pad}`);
    }
  });

  test('stream redactor - one-byte chunks keep UTF-8 intact and equal maskText', () => {
    const text = `ünïcödé ${secretB} — ✓ ${secretA} 🎉 password=${gen(ALNUM, 16)}\n`.repeat(300);
    const bytes = Buffer.from(text);
    const got = runStream(full, bytes, [1]);
    assert.equal(got.out.toString('utf8'), full.maskText(text).text);
  });

  test('stream redactor - holds back at most maxHoldBack bytes', () => {
    const text = Buffer.from(`plain log line without anything special in it ${'x'.repeat(30)}\n`.repeat(2000));
    for (const m of [full, small]) {
      const r = m.stream();
      let inBytes = 0;
      let outBytes = 0;
      for (let pos = 0; pos < text.length; pos += 777) {
        const chunk = text.subarray(pos, pos + 777);
        inBytes += chunk.length;
        outBytes += r.push(chunk).length;
        assert.ok(inBytes - outBytes <= m.maxHoldBack, `held ${inBytes - outBytes} > ${m.maxHoldBack}`);
      }
      outBytes += r.end().length;
      assert.equal(outBytes, inBytes);
    }
  });

  test('stream redactor - a chain of overlapping matches longer than the hold-back is still fully masked', () => {
    const m = createMasker({
      detectors: [],
      customDetectors: [
        { id: 'xy', pattern: 'x[0-9]{4}y', keywords: ['x'] },
        { id: 'yx', pattern: 'y[0-9]{4}x', keywords: ['y'] },
      ],
    });
    const chain = `${'x1234y5678'.repeat(2000)}x`;
    const r = m.stream();
    const outs: Uint8Array[] = [];
    for (let pos = 0; pos < chain.length; pos += 100) {
      outs.push(r.push(Buffer.from(chain.slice(pos, pos + 100))));
    }
    // Memory stays bounded: output keeps flowing on every push instead of the chain piling up.
    assert.ok(outs.filter((o) => o.length > 0).length >= 195, 'output stalled behind the chain');
    outs.push(r.end());
    const out = Buffer.concat(outs).toString();
    assert.doesNotMatch(out.replace(/\[REDACTED:[a-z]+\]/g, ''), /[0-9]/);
  });

  test('stream redactor - without detectors only a possible partial match is held back, not the window', () => {
    const r = exactOnly.stream();
    // Plain text goes out at once, but for the last bytes (an escape or a line break may still be completing).
    const first = Buffer.from(r.push(Buffer.from(`piece 000 ${'x'.repeat(60)}\n`))).toString();
    assert.ok(first.length >= 40, `only ${first.length} bytes out of 71`);
    // The start of a secret is held until it is decided, then masked whole.
    const cut = Math.floor(secretA.length / 2);
    const held = Buffer.from(r.push(Buffer.from(`piece 001 ${secretA.slice(0, cut)}`))).toString();
    assert.ok(!held.includes(secretA.slice(0, 8)), 'the start of the secret went out before it was decided');
    const rest = Buffer.from(r.push(Buffer.from(`${secretA.slice(cut)} done\n`))).toString() + Buffer.from(r.end()).toString();
    assert.equal(first + held + rest, `piece 000 ${'x'.repeat(60)}\npiece 001 [REDACTED:secret:conn/a] done\n`);
    assert.ok(exactOnly.maxHoldBack > 100, 'the bound itself is unchanged');
  });

  test('stream redactor - push after end fails with ERR_MASKING_STREAM_ENDED', () => {
    const r = full.stream();
    r.end();
    assert.throws(() => r.push(Buffer.from('x')), { code: 'ERR_MASKING_STREAM_ENDED' });
  });

  test('stream redactor - node Transform masks what is piped through it', async () => {
    const text = `resp ${secretA} and ghp_${gen(ALNUM, 36)} `.repeat(500);
    const chunks: Buffer[] = [];
    const bytes = Buffer.from(text);
    for (let pos = 0; pos < bytes.length; pos += 1000) chunks.push(bytes.subarray(pos, pos + 1000));
    const t = full.transform();
    const out: Buffer[] = [];
    await pipeline(Readable.from(chunks), t, async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) out.push(c);
    });
    assert.equal(Buffer.concat(out).toString(), full.maskText(text).text);
    assert.deepEqual(sortF(t.findings()), [
      { type: 'github-token', count: 500 },
      { type: 'secret', ref: 'conn/a', count: 500 },
    ]);
  });
});
