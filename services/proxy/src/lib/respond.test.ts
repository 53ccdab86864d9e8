import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Adapter } from '../adapters/types.js';
import { ProxyError } from '../errors.js';
import { sendError } from './respond.js';

/** Serves one request with `handle` and returns the raw bytes the client got. */
async function answer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const res = await fetch(`http://127.0.0.1:${port}/x`).catch((err: unknown) => err as Error);
    if (res instanceof Error) return `error: ${res.message}`;
    return `${res.status} ${[...res.headers].map(([k, v]) => `${k}=${v}`).join(';')} ${await res.text()}`;
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test('respond - error headers from data (a token claim in WWW-Authenticate) are made header-safe, never thrown', async () => {
  const err = new ProxyError('ERR_AUTH_INVALID', 'issuer http://x/€', { headers: { 'www-authenticate': 'Bearer error_description="issuer http://x/€\r\n"' } });
  let threw: unknown;
  const text = await answer((req, res) => {
    try {
      sendError(req, res, err, { connection: undefined, requestId: 'r-\u00ff' });
    } catch (e) {
      threw = e;
    }
  });
  assert.equal(threw, undefined);
  assert.match(text, /^401 /);
  assert.match(text, /www-authenticate=Bearer error_description="issuer http:\/\/x\/\?\?\?"/);
  assert.match(text, /x-request-id=r-\?/);
  assert.match(text, /"code":"ERR_AUTH_INVALID"/);
});

test('respond - an adapter whose rendering throws still refuses, with the JSON body', async () => {
  const adapter = {
    type: 'http',
    classify: () => ({ kind: 'x', attributes: {} }),
    renderError: () => {
      throw new Error('boom');
    },
  } as unknown as Adapter;
  const text = await answer((req, res) => sendError(req, res, new ProxyError('ERR_POLICY_DENIED'), { connection: 'c', requestId: 'r', adapter }));
  assert.match(text, /^403 /);
  assert.match(text, /"code":"ERR_POLICY_DENIED"/);
});

test('respond - a refusal that cannot be written as built becomes a fixed 500 (no text from the error), never an exception', async () => {
  const adapter = {
    type: 'http',
    classify: () => ({ kind: 'x', attributes: {} }),
    renderError: () => ({ status: 403, headers: {}, body: undefined }),
  } as unknown as Adapter;
  let threw: unknown;
  const text = await answer((req, res) => {
    try {
      sendError(req, res, new ProxyError('ERR_POLICY_DENIED', 'secret reason'), { connection: 'c', requestId: 'r', adapter });
    } catch (e) {
      threw = e;
    }
  });
  assert.equal(threw, undefined);
  assert.match(text, /^500 /);
  assert.match(text, /"code":"ERR_INTERNAL"/);
  assert.doesNotMatch(text, /secret reason/);
});

test('respond - after the head went out, a refusal cuts the connection instead of throwing', async () => {
  let threw: unknown = 'not called';
  let destroyed = false;
  await answer((req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial');
    try {
      sendError(req, res, new ProxyError('ERR_UPSTREAM_FAILED'), { connection: 'c', requestId: 'r' });
      threw = undefined;
    } catch (e) {
      threw = e;
    }
    destroyed = res.destroyed;
  });
  assert.equal(threw, undefined);
  assert.equal(destroyed, true);
});
