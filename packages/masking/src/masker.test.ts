import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALNUM, gen } from '../test/fixtures.js';
import { createMasker, MaskingError } from './index.js';

const secret = `Zq${gen(ALNUM, 22)}`;
const other = `Kx${gen(ALNUM, 18)}`;
const secrets = [
  { ref: 'conn/github', value: secret },
  { ref: 'conn/registry', value: other },
];
const m = createMasker({ secrets });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof MaskingError ? err.code : 'not a MaskingError';
  }
  return undefined;
}

describe('masker', () => {
  test('masker - exact value is replaced with its ref tag and reported by ref', () => {
    const r = m.maskText(`clone with ${secret} now`);
    assert.equal(r.text, 'clone with [REDACTED:secret:conn/github] now');
    assert.deepEqual(r.findings, [{ type: 'secret', ref: 'conn/github', count: 1 }]);
  });

  test('masker - encoded forms of a brokered secret are masked', () => {
    const forms = [
      Buffer.from(secret).toString('base64'),
      Buffer.from(`x-access-token:${secret}`).toString('base64'),
      Buffer.from(`ab${secret}`).toString('base64url'),
      Buffer.from(secret).toString('hex'),
      Buffer.from(secret).toString('hex').toUpperCase(),
      encodeURIComponent(`${secret}/&`),
      JSON.stringify(`${secret}"\n`),
    ];
    for (const f of forms) {
      const r = m.maskText(`header ${f} end`);
      assert.ok(
        r.findings.some((x) => x.ref === 'conn/github'),
        `form not caught: ${f.length} chars`,
      );
      assert.ok(!r.text.includes(f), 'encoded form survived');
    }
  });

  test('masker - findings count each secret separately and never contain values', () => {
    const r = m.maskText(`${secret} ${other} ${secret}`);
    assert.deepEqual(
      r.findings.sort((a, b) => (a.ref ?? '').localeCompare(b.ref ?? '')),
      [
        { type: 'secret', ref: 'conn/github', count: 2 },
        { type: 'secret', ref: 'conn/registry', count: 1 },
      ],
    );
    assert.ok(!JSON.stringify(r.findings).includes(secret));
  });

  test('masker - exact secret wins the label over an overlapping detector', () => {
    const tok = `ghp_${gen(ALNUM, 36)}`;
    const mm = createMasker({ secrets: [{ ref: 'conn/gh', value: tok }] });
    const r = mm.maskText(`t=${tok}`);
    assert.equal(r.text, 't=[REDACTED:secret:conn/gh]');
    // One secret, one finding: the detector that saw it too is not counted again.
    assert.deepEqual(r.findings, [{ type: 'secret', ref: 'conn/gh', count: 1 }]);
  });

  test('masker - withSecrets rotates secrets and keeps detectors', () => {
    const next = `Nw${gen(ALNUM, 20)}`;
    const rotated = m.withSecrets([{ ref: 'conn/github', value: next }]);
    assert.equal(rotated.maskText(next).text, '[REDACTED:secret:conn/github]');
    assert.equal(rotated.maskText(secret).text, secret);
    assert.deepEqual(rotated.detectorIds, m.detectorIds);
  });

  test('masker - maskBytes equals maskText on UTF-8 text with non-ASCII around secrets', () => {
    const uni = `héllo ${secret} 日本語 ghp_${gen(ALNUM, 36)} ✓ ${Buffer.from(`ü${secret}`).toString('base64')}`;
    const viaBytes = Buffer.from(m.maskBytes(Buffer.from(uni)).bytes).toString('utf8');
    assert.equal(viaBytes, m.maskText(uni).text);
  });

  test('masker - non-ASCII secrets are masked in text and bytes', () => {
    const mm = createMasker({ secrets: [{ ref: 'k', value: 'pässwörd-ß-日本' }] });
    assert.equal(mm.maskText('a pässwörd-ß-日本 b').text, 'a [REDACTED:secret:k] b');
    assert.equal(Buffer.from(mm.maskBytes(Buffer.from('a pässwörd-ß-日本 b')).bytes).toString(), 'a [REDACTED:secret:k] b');
  });

  test('masker - masking is idempotent on its own output', () => {
    const text = `a ${secret} b ghp_${gen(ALNUM, 36)} password=${gen(ALNUM, 20)}`;
    const once = m.maskText(text).text;
    assert.deepEqual(m.maskText(once), { text: once, findings: [] });
  });

  test('masker - bad configuration throws ERR_MASKING_CONFIG without echoing values', () => {
    assert.equal(
      codeOf(() => createMasker({ secrets: [{ ref: 'short', value: 'abc' }] })),
      'ERR_MASKING_CONFIG',
    );
    assert.equal(
      codeOf(() => createMasker({ secrets: [{ ref: 'bad ref!', value: 'abcdefgh' }] })),
      'ERR_MASKING_CONFIG',
    );
    assert.equal(
      codeOf(() => createMasker({ detectors: ['no-such-detector'] })),
      'ERR_MASKING_CONFIG',
    );
    assert.equal(
      codeOf(() => createMasker({ customDetectors: [{ id: 'evil', pattern: '(a+)+b', keywords: ['a'] }] })),
      'ERR_MASKING_CONFIG',
    );
    assert.equal(
      codeOf(() => createMasker({ entropy: { minEntropy: 99 } })),
      'ERR_MASKING_CONFIG',
    );
    try {
      createMasker({ secrets: [{ ref: 'conn/x', value: 'tiny' }] });
    } catch (err) {
      assert.ok(!(err as Error).message.includes('tiny'));
    }
  });

  test('masker - custom detectors run with their keyword prefilter', () => {
    const mm = createMasker({ detectors: [], customDetectors: [{ id: 'acme-key', pattern: 'acme_[a-z0-9]{16}', keywords: ['acme_'] }] });
    assert.equal(mm.maskText('k acme_0123456789abcdef').text, 'k [REDACTED:acme-key]');
    assert.deepEqual(mm.detectorIds, ['acme-key']);
  });

  test('masker - entropy threshold is configurable and can be disabled', () => {
    const v = 'abcd1234abcd';
    assert.equal(createMasker({ entropy: { minEntropy: 2 } }).maskText(`password=${v}`).text, 'password=[REDACTED:generic-secret]');
    assert.equal(createMasker({ entropy: { minEntropy: 3.5 } }).maskText(`password=${v}`).text, `password=${v}`);
    assert.ok(!createMasker({ entropy: false }).detectorIds.includes('generic-secret'));
  });
});
