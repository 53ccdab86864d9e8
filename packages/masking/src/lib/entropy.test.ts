import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPlaceholder, looksLikeReference, shannonEntropy } from './entropy.js';

test('entropy - shannon entropy of known strings', () => {
  assert.equal(shannonEntropy(''), 0);
  assert.equal(shannonEntropy('aaaa'), 0);
  assert.equal(shannonEntropy('abab'), 1);
  assert.equal(shannonEntropy('abcdefgh'), 3);
});

test('entropy - placeholders are recognised', () => {
  for (const v of ['${VAR}', '$TOKEN', '%PASS%', '<token>', 'changeme', 'xxxxxxxx', '********', 'your_token_here', 'example-key', 'aaaaaaaaaa']) {
    assert.ok(isPlaceholder(v), v);
  }
  for (const v of ['q8Zr2!vLp0xKw7', 'Zx81kfj2Lq']) assert.ok(!isPlaceholder(v), v);
});

test('entropy - code references are not secrets', () => {
  for (const v of ['process.env.DB_PASS', 'os.environ', 'GITHUB_TOKEN', 'getPassword']) assert.ok(looksLikeReference(v), v);
  for (const v of ['q8Zr2!vLp0xKw7', 'correcthorsebatterystaple']) assert.ok(!looksLikeReference(v), v);
});
