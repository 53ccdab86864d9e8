import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALNUM, gen } from '../../test/fixtures.js';
import { createMasker } from '../index.js';

const secret = `Js${gen(ALNUM, 20)}`;
const m = createMasker({ secrets: [{ ref: 'conn/llm', value: secret }], sensitiveKeys: ['x-custom-auth'] });

describe('json masking', () => {
  test('json masking - sensitive keys are replaced whole, other keys kept', () => {
    const r = m.maskJson({
      user: 'ci-bot',
      password: 'hunter2',
      headers: { Authorization: 'Bearer abc', 'Set-Cookie': ['a=1', 'b=2'], 'content-type': 'application/json', 'X-Custom-Auth': 'v' },
      db: { client_secret: 'zz', github_token: 'tt', max_tokens: 1024, total_tokens: 9, token_type: 'bearer' },
      empty: { password: '', token: null, secret: false },
    });
    assert.deepEqual(r.value, {
      user: 'ci-bot',
      password: '[REDACTED:sensitive-key]',
      headers: {
        Authorization: '[REDACTED:sensitive-key]',
        'Set-Cookie': '[REDACTED:sensitive-key]',
        'content-type': 'application/json',
        'X-Custom-Auth': '[REDACTED:sensitive-key]',
      },
      db: {
        client_secret: '[REDACTED:sensitive-key]',
        github_token: '[REDACTED:sensitive-key]',
        max_tokens: 1024,
        total_tokens: 9,
        token_type: 'bearer',
      },
      empty: { password: '', token: null, secret: false },
    });
    const paths = r.findings.map((f) => f.path).sort();
    assert.deepEqual(paths, ['db.client_secret', 'db.github_token', 'headers.Authorization', 'headers.Set-Cookie', 'headers.X-Custom-Auth', 'password']);
    assert.ok(r.findings.every((f) => f.type === 'sensitive-key' && f.count === 1));
  });

  test('json masking - hits inside any string are masked with type, ref and path', () => {
    const tok = `ghp_${gen(ALNUM, 36)}`;
    const r = m.maskJson({ messages: [{ role: 'tool', content: `cat .env\nKEY=${secret}\nGH=${tok}` }] });
    assert.equal(r.value.messages[0]?.content, 'cat .env\nKEY=[REDACTED:secret:conn/llm]\nGH=[REDACTED:github-token]');
    assert.deepEqual(
      r.findings.sort((a, b) => a.type.localeCompare(b.type)),
      [
        { type: 'github-token', count: 1, path: 'messages[0].content' },
        { type: 'secret', ref: 'conn/llm', count: 1, path: 'messages[0].content' },
      ],
    );
    assert.ok(!JSON.stringify(r).includes(secret) && !JSON.stringify(r).includes(tok));
  });

  test('json masking - a brokered secret under a sensitive key is still reported by ref', () => {
    const r = m.maskJson({ api_key: secret });
    assert.deepEqual(r.value, { api_key: '[REDACTED:sensitive-key]' });
    assert.ok(r.findings.some((f) => f.type === 'secret' && f.ref === 'conn/llm' && f.path === 'api_key'));
  });

  test('json masking - secrets used as object keys do not survive in keys or paths', () => {
    const r = m.maskJson({ [secret]: { n: 1 } });
    assert.ok(!JSON.stringify(r).includes(secret));
    assert.deepEqual(r.value, { '[REDACTED:secret:conn/llm]': { n: 1 } });
  });

  test('json masking - input is not mutated; numbers, booleans and nulls pass through', () => {
    const input = { a: 1, b: true, c: null, d: [1, 'x'], password: 'p' };
    const copy = structuredClone(input);
    const r = m.maskJson(input);
    assert.deepEqual(input, copy);
    assert.deepEqual(r.value, { a: 1, b: true, c: null, d: [1, 'x'], password: '[REDACTED:sensitive-key]' });
  });

  test('json masking - very deep values are cut off rather than walked without bound', () => {
    let deep: unknown = secret;
    for (let i = 0; i < 200; i++) deep = { n: deep };
    const r = m.maskJson(deep);
    assert.ok(!JSON.stringify(r.value).includes(secret));
    assert.ok(r.findings.some((f) => f.type === 'depth-limit'));
  });
  test('json masking - repeated strings: the same answer every time, findings and paths included; a new secret list starts afresh', () => {
    const value = `Jv${gen(ALNUM, 20)}`;
    const plain = createMasker();
    const ev = (v: string) => ({ a: { b: [v, 'same'], [v]: v }, c: 'same' });
    // Found clean by this masker, and remembered as such ...
    for (let i = 0; i < 3; i++) assert.deepEqual(plain.maskJson(ev(value)), { value: ev(value), findings: [] });
    // ... by this masker only: the one that knows it as a secret masks it, every time, with the same paths.
    const withIt = plain.withSecrets([{ ref: 'conn/new', value }]);
    const tagged = '[REDACTED:secret:conn/new]';
    for (let i = 0; i < 3; i++) {
      const r = withIt.maskJson(ev(value));
      assert.deepEqual(r.value, { a: { b: [tagged, 'same'], [tagged]: tagged }, c: 'same' });
      // The key and its value are both hits at the key's (masked) path.
      assert.deepEqual(
        r.findings.map((f) => `${f.path}:${f.count}`),
        ['a.b[0]:1', `a.${tagged}:2`],
      );
    }
    // A string with a finding is never taken for clean afterwards.
    assert.equal(m.maskText(`x ${secret}`).findings.length, 1);
    assert.equal(m.maskJson({ k: `x ${secret}` }).findings.length, 1);
    assert.equal(m.maskJson({ k: `x ${secret}` }).findings.length, 1);
  });

  test('json masking - share: the same values and findings as a copy; unchanged objects and arrays are the input own, the input is not changed', () => {
    const tag = '[REDACTED:secret:conn/llm]';
    const tok = `ghp_${gen(ALNUM, 36)}`;
    const cases: unknown[] = [
      { a: 1, b: ['x', { c: 'y' }], d: { e: null, f: true } },
      { a: { b: [1, 2, `k=${secret}`] }, c: { d: 'same' }, e: ['z'] },
      { first: secret, rest: { n: 1 } },
      { headers: { Authorization: 'Bearer abc', accept: '*/*' }, body: { ok: true } },
      { [secret]: { n: 1 }, other: { m: 2 } },
      { plain: 1, [tag]: 'kept', [secret]: 'masked', after: [tok] },
      [['a', 'b'], ['c', tok], { x: 'y' }],
      Object.assign(Object.create(null), { a: 'x', b: { c: secret } }),
      { when: new Date(0), buf: new Uint8Array([104, 105]), deep: { deeper: { deepest: 'ok' } } },
      'just a string',
      42,
      null,
    ];
    for (let round = 0; round < 2; round++) {
      for (const c of cases) {
        const before = JSON.stringify(c);
        const copied = m.maskJson(c);
        const shared = m.maskJson(c, { share: true });
        assert.deepEqual(shared.value, copied.value);
        assert.deepEqual(shared.findings, copied.findings);
        assert.equal(JSON.stringify(c), before);
        if (copied.findings.length === 0 && typeof c === 'object' && c !== null && !('when' in c)) assert.equal(shared.value, c);
      }
    }
    // Only the path to a change is new.
    const input = { a: { b: [1, 2, `k=${secret}`], keep: { n: 1 } }, c: { d: 'same' }, e: ['z'] };
    const r = m.maskJson(input, { share: true }).value;
    assert.notEqual(r, input);
    assert.notEqual(r.a, input.a);
    assert.notEqual(r.a.b, input.a.b);
    assert.equal(r.a.keep, input.a.keep);
    assert.equal(r.c, input.c);
    assert.equal(r.e, input.e);
    assert.deepEqual(r.a.b, [1, 2, `k=${tag}`]);
    // Without share, nothing is the input's.
    const copy = m.maskJson(input).value;
    assert.notEqual(copy.c, input.c);
    assert.notEqual(copy.e, input.e);
  });

  test('json masking - a masked key never overwrites another key, whichever comes first (memo cold and warm)', () => {
    const tag = '[REDACTED:secret:conn/llm]';
    for (let i = 0; i < 3; i++) {
      // The source's own key equal to the tag comes first, then the secret key masked into it.
      const a = m.maskJson({ plain: 1, [tag]: 'kept', [secret]: 'masked' });
      assert.deepEqual(a.value, { plain: 1, [tag]: 'kept', [`${tag}#`]: 'masked' });
      // The secret key first, then the source's own key equal to its tag.
      const b = m.maskJson({ [secret]: 'masked', [tag]: 'kept', other: 2 });
      assert.deepEqual(b.value, { [tag]: 'masked', [`${tag}#`]: 'kept', other: 2 });
    }
  });
});
