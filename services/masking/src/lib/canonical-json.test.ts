import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { buildActionEvent, encodeEvent } from '@agentgate/events';
import { countMembers, isCanonicalJson } from './canonical-json.js';
import { decodeRaw, rawIsCanonical } from './mask-event.js';

const canonical = (text: string): boolean => isCanonicalJson(text, countMembers(JSON.parse(text)));

const CHARS = [
  'a',
  'Z',
  '0',
  '9',
  ' ',
  '"',
  '\\',
  '/',
  '\n',
  '\t',
  '\b',
  '\f',
  '\r',
  '\u0000',
  '\u001f',
  '\u007f',
  'é',
  '€',
  '😀',
  '\u2028',
  ':',
  ',',
  '{',
  '[',
];
const NUMBERS = [0, -0, 1, -1, 42, 1.5, -0.25, 1e21, 1e-7, 123456789012345, 2 ** 60 + 2 ** 10, 0.1 + 0.2, Number.MAX_SAFE_INTEGER, 5e-324, -1e300];

function randomString(): string {
  let s = '';
  for (let i = randomInt(6); i > 0; i--) s += CHARS[randomInt(CHARS.length)];
  return s;
}

function randomValue(depth: number): unknown {
  const k = randomInt(depth > 3 ? 4 : 7);
  if (k === 0) return randomString();
  if (k === 1) return NUMBERS[randomInt(NUMBERS.length)];
  if (k === 2) return [true, false, null][randomInt(3)];
  if (k === 3) return randomInt(1000);
  if (k === 4) return Array.from({ length: randomInt(4) }, () => randomValue(depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = randomInt(5); i > 0; i--) o[randomInt(8) === 0 ? String(randomInt(20)) : randomString()] = randomValue(depth + 1);
  return o;
}

/** Variants of a JSON text that parse to the same value (or one with a shadowed duplicate) but are not JSON.stringify's form. */
function variants(text: string): string[] {
  const out = [
    JSON.stringify(JSON.parse(text), null, 1),
    ` ${text}`,
    `${text}\n`,
    text.replace(/\//g, '\\/'),
    text.replace(/a/g, '\\u0061'),
    text.replace(/\\u00([0-9a-f]{2})/g, (_, h: string) => `\\u00${h.toUpperCase()}`),
    text.replace(/\\n/g, '\\u000a'),
    text.replace(/:(\d+)([,}\]])/g, ':$1.0$2'),
    text.replace(/:(\d+)([,}\]])/g, ':$1e0$2'),
    text.replace(/^\{"/, '{"dup":"hidden secret","'),
    text.replace(/\{"([^"\\]*)":/, '{"$1":"shadowed","$1":'),
  ];
  return out.filter((t) => t !== text);
}

test('canonical json - whenever the check says yes, the text is exactly what JSON.stringify writes of its parse', () => {
  let yes = 0;
  let texts = 0;
  for (let i = 0; i < 3000; i++) {
    const text = JSON.stringify(randomValue(0));
    for (const t of [text, ...variants(text)]) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(t);
      } catch {
        continue;
      }
      texts++;
      if (isCanonicalJson(t, countMembers(parsed))) {
        yes++;
        assert.equal(JSON.stringify(parsed), t, `accepted a text JSON.stringify does not write: ${JSON.stringify(t)}`);
      }
    }
  }
  // It is useful, too: most of JSON.stringify's own texts pass.
  assert.ok(yes > 1500, `only ${yes} of ${texts} texts accepted`);
});

test('canonical json - what it refuses: whitespace, other escapes, other number forms, digit keys, duplicate keys', () => {
  assert.equal(canonical('{"a":"x","b":[1,-2,0,true,null,"\\"\\\\\\n\\u001f"]}'), true);
  assert.equal(canonical('{"a": "x"}'), false);
  assert.equal(canonical('{"a":"\\/"}'), false);
  assert.equal(canonical('{"a":"\\u0041"}'), false);
  assert.equal(canonical('{"a":"\\u001F"}'), false);
  assert.equal(canonical('{"a":"\\u000a"}'), false);
  assert.equal(canonical('{"a":"\\ud800"}'), false);
  for (const n of ['1.0', '1e3', '1E3', '-0', '0.10', '1.50', '1e21', '-0.0']) assert.equal(canonical(`{"a":${n}}`), false, n);
  for (const n of ['1.5', '1e+21', '1e-7', '-0.25', '123456789012345', '1234567890123456800']) assert.equal(canonical(`{"a":${n}}`), true, n);
  assert.equal(canonical('{"1":"x","b":2}'), false);
  assert.equal(canonical('{"":1}'), true);
  // A duplicate key hides the first value from every parse: never passed on as it is.
  assert.equal(canonical('{"a":"ghp_secret","a":"x"}'), false);
  assert.equal(isCanonicalJson('{"a":1}', 2), false);
});

test('canonical json - decodeRaw: an event encoded by encodeEvent is republishable as is; a BOM, an upgrade or other bytes are not', () => {
  const ev = buildActionEvent({
    phase: 'completed',
    principal: { issuer: 'iss', subject: 'sub', groups: ['g'], claims: {}, ci: { provider: 'generic' }, sessionId: 's-1', expiresAt: 0 },
    action: { id: 'a-1', kind: 'http.request', connection: 'github', attributes: { path: '/x', n: 3, note: 'quote " slash / é' } },
  });
  const bytes = encodeEvent(ev);
  assert.equal(rawIsCanonical(decodeRaw(bytes)), true);
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
  assert.equal(rawIsCanonical(decodeRaw(withBom)), false);
  const spaced = Buffer.from(JSON.stringify(ev, null, 2));
  assert.equal(rawIsCanonical(decodeRaw(spaced)), false);
  // An event of schema version 1 is upgraded (a new object): its bytes are not the current encoding.
  const v1 = JSON.parse(JSON.stringify(ev)) as Record<string, unknown>;
  delete v1['ecs'];
  let upgraded: ReturnType<typeof decodeRaw> | undefined;
  try {
    upgraded = decodeRaw(Buffer.from(JSON.stringify(v1)));
  } catch {
    // Not a valid version 1 event either: nothing to republish.
  }
  if (upgraded) assert.equal(rawIsCanonical(upgraded), false);
});
