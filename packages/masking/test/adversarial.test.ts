import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUILTIN_DETECTORS, createMasker } from '../src/index.js';
import { ALNUM, B64, FIXTURES, gen } from './fixtures.js';

/** Generous: real throughput is far higher; exponential or quadratic blow-up is far slower. */
const MAX_SECONDS_PER_MB = 2;
const MB = 1 << 20;

const secretValue = `${'a'.repeat(40)}b`;
const masker = createMasker({ secrets: [{ ref: 'conn/aaa', value: secretValue }] });

function fill(unit: string): string {
  return unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
}

/** CPU seconds per MB, not wall time: on a busy machine the time this process waits for a core is not the masker's. */
function secondsPerMb(fn: () => void, bytes: number): number {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6 / (bytes / MB);
}

const special: Record<string, string> = {
  'ghp_ + 35 chars': fill(`ghp_${gen(ALNUM, 35)}`),
  'ghp_ run': fill('ghp_'),
  'BEGIN without END': `-----BEGIN RSA PRIVATE KEY-----\n${fill(`${gen(B64, 64)}\n`)}`,
  'BEGIN runs': fill('-----BEGIN PRIVATE KEY-----'),
  'BEGIN + dashes': fill('-----BEGIN RSA PRIVATE KEY-----\n----'),
  'eyJ run': fill('eyJ'),
  'eyJ long segment without dot': fill(`eyJ${gen(ALNUM, 5000)} `),
  'eyJ two segments': fill(`eyJ${gen(ALNUM, 40)}.eyJ${gen(ALNUM, 40)}`),
  'password= long value': fill(`password=${gen(ALNUM, 300)}`),
  'password= run': fill('password=password:token='),
  'url without @': fill(`https://user:${gen(ALNUM, 300)}`),
  ':// run': fill('a://'),
  'Authorization runs': fill('Authorization: Bearer Authorization: '),
  'cookie: run': fill('cookie: '),
  'near-exact secret': fill('a'),
  'base64 soup': fill(gen(B64, 4096)),
  'all keywords': fill(BUILTIN_DETECTORS.flatMap((d) => d.keywords).join('')),
  'all keywords uppercase': fill(
    BUILTIN_DETECTORS.flatMap((d) => d.keywords)
      .join(' ')
      .toUpperCase(),
  ),
  // The normalised view (JSON escapes decoded, base64 wrapping removed) made as large and as busy as possible.
  'escaped near-exact secret': fill('\\u0061'),
  'wrapped near-exact secret': fill(`${'a'.repeat(60)}\n`),
  'wrapped with blanks and escaped breaks': fill(`${'a'.repeat(16)}    \\r\\n${' '.repeat(16)}`),
  'backslash runs': fill(`${'\\'.repeat(20)}u0061`),
  'escaped base64 soup': fill(`${gen(B64, 60).replace(/\//g, '\\/').replace(/\+/g, '\\u002b')}\\n`),
};

describe('adversarial input', () => {
  for (const [name, text] of Object.entries(special)) {
    test(`adversarial input - ${name} stays under ${MAX_SECONDS_PER_MB} s/MB (text and stream)`, () => {
      const t = secondsPerMb(() => masker.maskText(text), text.length);
      assert.ok(t < MAX_SECONDS_PER_MB, `maskText ${t.toFixed(3)} s/MB`);
      const bytes = Buffer.from(text);
      const s = secondsPerMb(() => {
        const r = masker.stream();
        for (let pos = 0; pos < bytes.length; pos += 65536) r.push(bytes.subarray(pos, pos + 65536));
        r.end();
      }, bytes.length);
      assert.ok(s < MAX_SECONDS_PER_MB, `stream ${s.toFixed(3)} s/MB`);
    });
  }

  test(`adversarial input - near-misses of every detector stay under ${MAX_SECONDS_PER_MB} s/MB`, () => {
    const slow: string[] = [];
    for (const d of BUILTIN_DETECTORS) {
      for (const { text } of FIXTURES[d.id]?.positive ?? []) {
        // Drop the last character: the closest thing to a match that is not one, repeated.
        for (const unit of [text.slice(0, -1), `${text.slice(0, -1)} `]) {
          const input = fill(unit);
          const t = secondsPerMb(() => masker.maskText(input), input.length);
          if (t >= MAX_SECONDS_PER_MB) slow.push(`${d.id}: ${t.toFixed(2)} s/MB`);
        }
      }
    }
    assert.deepEqual(slow, []);
  });
});
