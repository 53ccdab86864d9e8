import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPathParams, parseTarget, upstreamPath } from './request-target.js';

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
  for (const url of [
    '/api/..',
    '/api/../x',
    '/api/.',
    '/api/%2e%2e',
    '/api/.%2e/x',
    '/api/a%2Fb',
    '/api/a%5Cb',
    '/api/a\\b',
    '/api/%252e%252e',
    '/api/%00',
    '/api/a%252fb',
  ]) {
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

test('target - dot-segments behind ; parameters, encodings and Unicode look-alikes are refused', () => {
  for (const url of [
    '/api/public/..;/private',
    '/api/public/..;jsessionid=1/x',
    '/api/public/.;/x',
    '/api/public/%2e%2e;/x',
    '/api/public/%2e%2e%3b/x',
    '/api/public/%2E%2E%3Bv=1/x',
    '/api/public/%EF%BC%8E%EF%BC%8E/x',
    '/api/public/%EF%BC%8E%EF%BC%8E%EF%BC%9B/x',
    '/api/public/%E2%80%A5/x',
    '/api/public/%EF%B9%92%EF%B9%92/x',
    '/api/public/..%20/x',
    '/api/public/.../x',
    '/api/a%EF%BC%8Fb',
    '/api/a%EF%BC%BCb',
  ]) {
    assert.equal(code(url), 'ERR_PATH_TRAVERSAL', url);
  }
  // Names that merely contain dots stay usable.
  for (const url of ['/api/.well-known/x', '/api/v1.2/x', '/api/a..b', '/api/..a', '/api/%E2%82%AC']) assert.equal(code(url), undefined, url);
});

test('target - a ; in a path segment is refused unless the connection allows matrix parameters', () => {
  const paramCode = (url: string, allow: boolean): string | undefined => {
    try {
      checkPathParams(parseTarget(url), allow);
      return undefined;
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  for (const url of ['/api/a;b', '/api/a%3bb', '/api/a%3Bb/x', '/api/a%EF%BC%9Bb']) {
    assert.equal(paramCode(url, false), 'ERR_PATH_PARAMETERS', url);
    assert.equal(paramCode(url, true), undefined, url);
  }
  assert.equal(paramCode('/api/a?x=1;2', false), undefined, 'a ; in the query is not a path parameter');
});
