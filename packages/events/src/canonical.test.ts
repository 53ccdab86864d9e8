import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalize } from './index.js';

/** A double from its IEEE 754 bit pattern, as RFC 8785 Appendix B lists them. */
function fromHex(hex: string): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt(`0x${hex}`));
  return dv.getFloat64(0);
}

test('canonical json - RFC 8785 §3.2.2 sample: numbers, escaping, literals', () => {
  const input = JSON.parse(
    '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
      '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
  );
  assert.equal(
    canonicalize(input),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
  );
});

test('canonical json - RFC 8785 §3.2.3 property sorting by UTF-16 code units', () => {
  const input = JSON.parse(
    '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
      '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
  );
  // Expected order: \r, 1, U+0080, U+00F6, U+20AC, U+1F600 (D83D DE00 sorts before FB33), U+FB33.
  assert.equal(
    canonicalize(input),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
      '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
});

test('canonical json - RFC 8785 Appendix B number serialization', () => {
  const cases: Array<[string, string]> = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  for (const [hex, expected] of cases) assert.equal(canonicalize(fromHex(hex)), expected, hex);
  assert.throws(() => canonicalize(fromHex('7fffffffffffffff')), { code: 'ERR_CANONICAL_JSON' });
  assert.throws(() => canonicalize(fromHex('7ff0000000000000')), { code: 'ERR_CANONICAL_JSON' });
});

test('canonical json - cyberphone weird.json vector (control char, </script>, astral keys)', () => {
  const input = JSON.parse(
    '{"\\u20ac":"Euro Sign","1":"One","\\u0080":"Control\\u007f","\\ud83d\\ude02":"Smiley",' +
      '"\\u00f6":"Latin Small Letter O With Diaeresis","\\ufb33":"Hebrew Letter Dalet With Dagesh","</script>":"Browser Challenge"}',
  );
  assert.equal(
    canonicalize(input),
    '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude02":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
});

test('canonical json - nested objects sorted recursively, arrays keep order, no whitespace', () => {
  assert.equal(canonicalize({ b: [3, { z: 1, a: 2 }], a: { y: null, x: 'v' } }), '{"a":{"x":"v","y":null},"b":[3,{"a":2,"z":1}]}');
  assert.equal(canonicalize([]), '[]');
  assert.equal(canonicalize({}), '{}');
});

test('canonical json - rejects what JSON cannot carry faithfully', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, [1, undefined], 10n, () => 1, Symbol('s'), new Map(), { a: '\ud800' }]) {
    assert.throws(() => canonicalize(bad), { code: 'ERR_CANONICAL_JSON' });
  }
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  assert.throws(() => canonicalize(cyclic), { code: 'ERR_CANONICAL_JSON' });
  assert.throws(() => canonicalize(undefined), { code: 'ERR_CANONICAL_JSON' });
});

test('canonical json - undefined properties are omitted, shared (non-cyclic) objects allowed, Date via toJSON', () => {
  const shared = { k: 1 };
  assert.equal(canonicalize({ a: undefined, b: shared, c: shared }), '{"b":{"k":1},"c":{"k":1}}');
  assert.equal(canonicalize({ t: new Date(0) }), '{"t":"1970-01-01T00:00:00.000Z"}');
});
