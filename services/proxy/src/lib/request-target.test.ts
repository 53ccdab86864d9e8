import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTarget, upstreamPath } from './request-target.js';

const code = (url: string): string | undefined => {
  try {
    parseTarget(url);
    return undefined;
  } catch (err) {
    return (err as { code: string }).code;
  }
};

test('target - origin-form is split into connection, raw and decoded path, query', () => {
  const t = parseTarget('/api/repos/a%20b/x?q=1&q=2&z=%2F');
  assert.equal(t.connection, 'api');
  assert.equal(t.rawPath, '/repos/a%20b/x');
  assert.equal(t.path, '/repos/a b/x');
  assert.equal(t.rawQuery, '?q=1&q=2&z=%2F');
  assert.deepEqual(t.query, { q: ['1', '2'], z: '/' });
  assert.equal(parseTarget('/api').rawPath, '/');
  assert.equal(parseTarget('/api/').rawPath, '/');
});

test('target - policy sees the decoded path, so encoding cannot dodge a rule', () => {
  assert.equal(parseTarget('/api/%61dmin/x').path, '/admin/x');
});

test('target - traversal and encoded separators are refused, not normalised', () => {
  for (const url of ['/api/..', '/api/../x', '/api/.', '/api/%2e%2e', '/api/.%2e/x', '/api/a%2Fb', '/api/a%5Cb', '/api/a\\b', '/api/%252e%252e', '/api/%00', '/api/a%252fb']) {
    assert.equal(code(url), 'ERR_PATH_TRAVERSAL', url);
  }
});

test('target - non-origin forms, fragments, control characters and bad encoding are refused', () => {
  for (const url of ['http://h/api/x', 'https://h/api', '*', '', '//api/x', '/api/x#frag', '/api/\u0001', '/api/%zz', '/api/%01']) {
    assert.equal(code(url), 'ERR_BAD_TARGET', JSON.stringify(url));
  }
});

test('target - the upstream base path is joined with the forwarded path', () => {
  assert.equal(upstreamPath(new URL('https://h/v3/'), '/repos', '?a=1'), '/v3/repos?a=1');
  assert.equal(upstreamPath(new URL('https://h'), '/repos', ''), '/repos');
});
