import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenges } from './challenge.js';

test('registry challenge - Bearer with quoted params (commas inside), several challenges, bad input', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
  ]);
  assert.deepEqual(parseChallenges(['Basic realm="x"', 'Bearer realm="r", error=insufficient_scope']), [
    { scheme: 'basic', params: { realm: 'x' } },
    { scheme: 'bearer', params: { realm: 'r', error: 'insufficient_scope' } },
  ]);
  assert.deepEqual(
    parseChallenges('Basic realm="a\\"b", Bearer realm="c"').map((c) => c.params.realm),
    ['a"b', 'c'],
  );
  assert.deepEqual(parseChallenges(undefined), []);
  assert.deepEqual(parseChallenges('Bearer realm="unterminated'), [{ scheme: 'bearer', params: { realm: 'unterminated' } }]);
  assert.doesNotThrow(() => parseChallenges(`Bearer ${'a=,'.repeat(5000)}`));
});
