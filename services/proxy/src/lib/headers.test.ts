import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NEVER_FORWARDED_HEADERS } from '@agentgate/config';
import { countRawHeader, downstreamResponseHeaders, strippedBecause, upstreamRequestHeaders } from './headers.js';

test('headers - hop-by-hop, client credentials and forwarding headers are not sent upstream', () => {
  const out = upstreamRequestHeaders({
    host: 'gw',
    authorization: 'Bearer client-token',
    cookie: 'a=b',
    connection: 'keep-alive, x-private',
    'x-private': '1',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    trailer: 'x',
    'transfer-encoding': 'chunked',
    upgrade: 'websocket',
    'proxy-authorization': 'Basic x',
    'proxy-foo': 'y',
    expect: '100-continue',
    forwarded: 'for=1.2.3.4',
    'x-forwarded-for': '1.2.3.4',
    'x-real-ip': '1.2.3.4',
    'content-length': '5',
    accept: 'application/json',
    'x-github-api-version': '2022-11-28',
  });
  assert.deepEqual(out, { accept: 'application/json', 'x-github-api-version': '2022-11-28' });
});

test('headers - upstream hop-by-hop response headers are dropped, others kept lower-cased', () => {
  const out = downstreamResponseHeaders({
    Connection: 'close, X-Hop',
    'X-Hop': '1',
    'Keep-Alive': 'x',
    'Transfer-Encoding': 'chunked',
    'Content-Type': 'text/plain',
    Location: '/x',
  });
  assert.deepEqual(out, { 'content-type': 'text/plain', location: '/x' });
});

test('headers - repeated raw headers are counted case-insensitively', () => {
  assert.equal(countRawHeader(['Authorization', 'a', 'host', 'h', 'authorization', 'b'], 'authorization'), 2);
});

test('headers - method overrides, URL rewrites, client identity and credential-shaped headers are stripped by default', () => {
  const sent = {
    'x-http-method-override': 'DELETE',
    'x-http-method': 'DELETE',
    'x-method-override': 'DELETE',
    'x-original-url': '/admin',
    'x-rewrite-url': '/admin',
    'true-client-ip': '1.1.1.1',
    'x-client-ip': '1.1.1.1',
    'x-host': 'evil',
    'x-original-host': 'evil',
    via: '1.1 evil',
    'x-forwarded-host': 'evil',
    'x-api-key': 'k',
    'api-key': 'k',
    'private-token': 'p',
    'job-token': 'j',
    'x-auth-token': 'a',
    'x-goog-api-key': 'g',
    'x-vault-token': 'v',
    'x-amz-security-token': 's',
    'x-csrf-token': 'c',
    'x-session-id': 's',
    'x-client-secret': 's',
    'x-password': 'p',
    accept: '*/*',
    'x-idempotency-key': 'i',
    'x-github-api-version': '2022-11-28',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  };
  assert.deepEqual(upstreamRequestHeaders(sent), {
    accept: '*/*',
    'x-idempotency-key': 'i',
    'x-github-api-version': '2022-11-28',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  });
});

test('headers - a connection forwards the identity and credential headers it lists, never a never-forwarded one', () => {
  const out = upstreamRequestHeaders(
    { 'x-api-key': 'k', via: 'v', cookie: 'c=1', 'x-http-method-override': 'DELETE', authorization: 'Bearer t', host: 'h', 'private-token': 'p' },
    ['x-api-key', 'via', 'cookie', 'x-http-method-override', 'authorization', 'host'],
  );
  assert.deepEqual(out, { 'x-api-key': 'k', via: 'v', cookie: 'c=1' });
});

test('headers - every name the config refuses in forwardHeaders is one the proxy never forwards', () => {
  for (const name of NEVER_FORWARDED_HEADERS) {
    assert.equal(strippedBecause(name) === 'never' || strippedBecause(name) === 'hop-by-hop', true, name);
    assert.deepEqual(upstreamRequestHeaders({ [name]: 'x' }, [name]), {}, name);
  }
});

test('headers - upstream response values node would refuse are made safe; a Location stays a usable URL', () => {
  const out = downstreamResponseHeaders({ Location: 'https://h/€\u0001', 'X-Bad': 'a\u2603b', 'X-Latin1': 'caf\u00e9', 'bad name': 'x' });
  assert.deepEqual(out, { location: 'https://h/%E2%82%AC%01', 'x-bad': 'a?b', 'x-latin1': 'caf\u00e9' });
});
