import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMasker } from '../src/index.js';
import type { Masker } from '../src/types.js';
import { ALNUM, gen } from './fixtures.js';
import { exposure } from './leak-oracle.js';

// Characters base64, URL and JSON encoders treat specially, as in the proxy tests' credential.
const secret = `tok_${gen(ALNUM, 24)}+/=:${gen(ALNUM, 10)}`;
const m = createMasker({ secrets: [{ ref: 'conn/api', value: secret }] });
const brokeredOnly = createMasker({ detectors: [], entropy: false, secrets: [{ ref: 'conn/api', value: secret }] });

/** Masks `text` whole, as bytes, and streamed in small chunks; every result must hide the secret. */
function assertHidden(mk: Masker, text: string, what: string): string {
  const whole = mk.maskText(text);
  assert.equal(exposure(whole.text, secret), undefined, `${what}: readable after maskText`);
  assert.ok(
    whole.findings.some((f) => f.ref === 'conn/api'),
    `${what}: reported by ref`,
  );
  const bytes = Buffer.from(mk.maskBytes(Buffer.from(text)).bytes);
  assert.equal(bytes.toString('utf8'), whole.text, `${what}: maskBytes differs from maskText`);
  const r = mk.stream();
  const src = Buffer.from(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < src.length; i += 7) out.push(r.push(src.subarray(i, i + 7)));
  out.push(r.end());
  assert.ok(Buffer.concat(out).equals(bytes), `${what}: stream differs from maskBytes`);
  return whole.text;
}

function wrap(b64: string, width: number, eol: string): string {
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return lines.join(eol);
}

describe('encodings of a brokered value', () => {
  test('encodings - base64 wrapped at 60, 64 and 76 columns is masked at every wrap position and alignment', () => {
    const eols = ['\n', '\r\n', '\\n', '\n    ', ' \r\n\t'];
    let cases = 0;
    for (const width of [60, 64, 76]) {
      for (const eol of eols) {
        // Prefix lengths move the secret across every column of a line and every base64 alignment.
        for (let pre = 0; pre < width + 3; pre += eol === '\n' ? 1 : 5) {
          const plain = `${'p'.repeat(pre)}user:${secret}\n-- trailing data --`;
          const enc = wrap(Buffer.from(plain).toString('base64'), width, eol);
          assertHidden(m, `content: ${enc}\nend`, `width ${width} eol ${JSON.stringify(eol)} prefix ${pre}`);
          cases++;
        }
      }
    }
    assert.ok(cases > 300);
  });

  test('encodings - GitHub contents API style: JSON string of base64 with \\n every 60 columns and escaped slashes', () => {
    for (let pre = 0; pre < 64; pre++) {
      const file = `${'#'.repeat(pre)} config\nTOKEN=${secret}\n`;
      const b64 = wrap(Buffer.from(file).toString('base64'), 60, '\n');
      // PHP-style encoders also escape "/" as "\/"; .NET escapes "+" as "\u002B".
      for (const body of [
        JSON.stringify({ content: b64, encoding: 'base64' }),
        JSON.stringify({ content: b64 }).replace(/\//g, '\\/').replace(/\+/g, '\\u002B'),
      ]) {
        assertHidden(brokeredOnly, body, `contents API prefix ${pre}`);
      }
    }
  });

  test('encodings - PEM-style block (64 columns, BEGIN/END lines) of a value holding the secret', () => {
    for (let pre = 0; pre < 48; pre += 1) {
      const der = Buffer.concat([Buffer.from([0x30, 0x82, pre]), Buffer.from('x'.repeat(pre)), Buffer.from(secret), Buffer.from([0, 1, 2])]);
      const pem = `-----BEGIN DATA-----\r\n${wrap(der.toString('base64'), 64, '\r\n')}\r\n-----END DATA-----\r\n`;
      assertHidden(brokeredOnly, pem, `PEM prefix ${pre}`);
    }
  });

  test('encodings - base64 of base64 (depth 2), including the Basic header value echoed in base64, at all alignments', () => {
    for (const user of ['x', 'xa', 'x-access-token']) {
      for (const outerPrefix of ['', 'B', 'Ba', 'Basic ', 'Authorization: Basic ']) {
        const basic = Buffer.from(`${user}:${secret}`).toString('base64');
        for (const inner of [basic, `Basic ${basic}`, Buffer.from(secret).toString('base64')]) {
          const outer = Buffer.from(`${outerPrefix}${inner}`).toString('base64');
          assertHidden(brokeredOnly, `echo=${outer};`, `depth 2 user ${user.length} prefix ${outerPrefix.length}`);
          const outerUrl = Buffer.from(`${outerPrefix}${inner}`).toString('base64url');
          assertHidden(brokeredOnly, `echo=${outerUrl};`, `depth 2 url-safe user ${user.length} prefix ${outerPrefix.length}`);
          // Depth 2 and wrapped (MIME, 76 columns).
          assertHidden(brokeredOnly, `${wrap(outer, 76, '\r\n')}\r\n`, `depth 2 wrapped user ${user.length} prefix ${outerPrefix.length}`);
        }
      }
    }
  });

  test('encodings - JSON escapes inside the value: \\/, \\u002b / \\u002B, and \\uXXXX of any character', () => {
    const esc = (c: string, upper: boolean): string => {
      const h = c.charCodeAt(0).toString(16).padStart(4, '0');
      return `\\u${upper ? h.toUpperCase() : h}`;
    };
    const forms = [
      secret.replace(/\//g, '\\/'),
      secret.replace(/\+/g, '\\u002b'),
      secret.replace(/\+/g, '\\u002B').replace(/\//g, '\\/'),
      [...secret].map((c) => esc(c, false)).join(''),
      [...secret].map((c, i) => (i % 3 === 0 ? esc(c, i % 2 === 0) : c)).join(''),
      JSON.stringify(secret).slice(1, -1),
    ];
    for (const [i, f] of forms.entries()) {
      assertHidden(brokeredOnly, `{"echo":"${f}","n":${i}}`, `JSON form ${i}`);
    }
  });

  test('encodings - non-ASCII values escaped as \\uXXXX (surrogate pairs too) are masked in text and bytes', () => {
    const uni = 'pässwörd-🎉-日本-x9';
    const mk = createMasker({ detectors: [], secrets: [{ ref: 'conn/uni', value: uni }] });
    const escaped = JSON.stringify(uni)
      .slice(1, -1)
      .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    assert.ok(escaped.includes('\\ud83c'), 'the emoji is a surrogate pair of escapes');
    for (const text of [`{"v":"${escaped}"}`, `{"v":"${escaped.replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => `\\u${h.toUpperCase()}`)}"}`]) {
      assert.equal(mk.maskText(text).text, '{"v":"[REDACTED:secret:conn/uni]"}');
      assert.equal(Buffer.from(mk.maskBytes(Buffer.from(text)).bytes).toString(), '{"v":"[REDACTED:secret:conn/uni]"}');
    }
  });

  test('encodings - normalising never masks text that only looks similar', () => {
    // Wrapped base64 of other data, escapes of other values, a secret minus its last characters.
    const other = wrap(Buffer.from(`${gen(ALNUM, 200)}`).toString('base64'), 60, '\n');
    const near = secret.slice(0, -3).replace(/\+/g, '\\u002b');
    const text = `${other}\n{"a":"${near}","b":"\\u0041\\/x"}`;
    assert.deepEqual(brokeredOnly.maskText(text), { text, findings: [] });
  });
});

describe('findings', () => {
  test('findings - a secret seen by several matchers is counted once (token=ghp_… is one GitHub token)', () => {
    const tok = `ghp_${gen(ALNUM, 36)}`;
    const plain = createMasker();
    assert.deepEqual(plain.maskText(`token=${tok}`).findings, [{ type: 'github-token', count: 1 }]);
    assert.deepEqual(plain.maskText(`export GITHUB_TOKEN="${tok}"\ntoken: ${tok}\n`).findings, [{ type: 'github-token', count: 2 }]);
    const exact = createMasker({ secrets: [{ ref: 'conn/gh', value: tok }] });
    assert.deepEqual(exact.maskText(`token=${tok}`).findings, [{ type: 'secret', ref: 'conn/gh', count: 1 }]);
    const r = plain.stream();
    const out = Buffer.concat([r.push(Buffer.from(`a token=${tok.slice(0, 10)}`)), r.push(Buffer.from(`${tok.slice(10)} b`)), r.end()]);
    assert.equal(out.toString(), 'a token=[REDACTED:github-token] b');
    assert.deepEqual(r.findings(), [{ type: 'github-token', count: 1 }]);
  });

  test('findings - a sensitive JSON key holding a detected secret is one finding', () => {
    const tok = `ghp_${gen(ALNUM, 36)}`;
    const r = createMasker().maskJson({ github_token: tok, note: 'x' });
    assert.deepEqual(r.value, { github_token: '[REDACTED:sensitive-key]', note: 'x' });
    assert.deepEqual(r.findings, [{ type: 'github-token', count: 1, path: 'github_token' }]);
  });
});
