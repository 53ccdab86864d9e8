import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countRawHeader, downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';

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
  const out = downstreamResponseHeaders({ Connection: 'close, X-Hop', 'X-Hop': '1', 'Keep-Alive': 'x', 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/plain', Location: '/x' });
  assert.deepEqual(out, { 'content-type': 'text/plain', location: '/x' });
});

test('headers - repeated raw headers are counted case-insensitively', () => {
  assert.equal(countRawHeader(['Authorization', 'a', 'host', 'h', 'authorization', 'b'], 'authorization'), 2);
});
