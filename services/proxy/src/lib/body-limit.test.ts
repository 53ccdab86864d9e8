import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { countBytes, limitedBody } from './body-limit.js';

const CHUNK = 64 * 1024;

/** A server handling one request with `handle`; `send` streams `chunks` to it (chunked) and resolves with the status, or the client's error. */
async function withServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  send: (write: (chunk: Buffer) => Promise<void>, end: () => void, abort: () => void) => Promise<void>,
): Promise<number | Error> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.destroy(err as Error);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const req = request({ host: '127.0.0.1', port, method: 'PATCH', path: '/x', headers: { 'transfer-encoding': 'chunked' } });
    const answered = new Promise<number | Error>((resolve) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', resolve);
    });
    const write = async (chunk: Buffer): Promise<void> => {
      if (!req.write(chunk)) await Promise.race([once(req, 'drain'), answered]);
    };
    await send(
      write,
      () => req.end(),
      () => req.destroy(),
    );
    return await answered;
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test('body-limit - the body passes in order and counted; an unread body pauses the request instead of piling up (backpressure)', async () => {
  const body = randomBytes(64 * CHUNK);
  let stalled = Number.NaN;
  let paused = false;
  let digest = '';
  let counted = 0;
  const status = await withServer(
    async (req, res) => {
      const limited = limitedBody(req, body.length);
      // Nobody reads for a while: what reached the limiter stays bounded (its buffer, then the request is paused).
      await new Promise((r) => setTimeout(r, 300));
      stalled = limited.bytes;
      paused = req.isPaused();
      const hash = createHash('sha256');
      for await (const chunk of limited) hash.update(chunk as Buffer);
      digest = hash.digest('hex');
      counted = limited.bytes;
      res.writeHead(201, { 'content-length': 0 }).end();
    },
    async (write, end) => {
      for (let i = 0; i < body.length; i += CHUNK) await write(body.subarray(i, i + CHUNK));
      end();
    },
  );
  assert.equal(status, 201);
  assert.ok(paused, 'the request is paused while its body is not read');
  assert.ok(stalled < 8 * CHUNK, `an unread body is not buffered (${stalled} bytes taken in)`);
  assert.equal(digest, createHash('sha256').update(body).digest('hex'), 'the same bytes, in order');
  assert.equal(counted, body.length);
});

test('body-limit - past the limit the body fails with ERR_BODY_TOO_LARGE, and the client still gets the 413', async () => {
  let code: unknown;
  const status = await withServer(
    async (req, res) => {
      const limited = limitedBody(req, 3 * 1000);
      try {
        for await (const _ of limited);
      } catch (err) {
        code = (err as { code?: unknown }).code;
      }
      res.writeHead(413, { 'content-length': 0, connection: 'close' }).end();
    },
    async (write, end) => {
      for (let i = 0; i < 10; i++) await write(Buffer.alloc(1000, 1));
      end();
    },
  );
  assert.equal(code, 'ERR_BODY_TOO_LARGE');
  assert.equal(status, 413, 'the request socket was not destroyed before the answer');
});

test('body-limit - a client that leaves mid-body fails the body (no silent truncation)', async () => {
  let settle: (err: unknown) => void = () => {};
  const failed = new Promise<unknown>((resolve) => {
    settle = resolve;
  });
  await withServer(
    async (req) => {
      const limited = limitedBody(req, 10 * CHUNK);
      try {
        for await (const _ of limited);
        settle(undefined);
      } catch (err) {
        settle(err);
      }
    },
    async (write, _end, abort) => {
      await write(Buffer.alloc(CHUNK, 2));
      await new Promise((r) => setTimeout(r, 100));
      abort();
    },
  );
  const err = await failed;
  assert.ok(err instanceof Error, 'the body failed instead of ending as if complete');
});

test('body-limit - countBytes counts what a piped stream emits, leaving the bytes and the flow to the pipe', async () => {
  const source = Readable.from([Buffer.alloc(1000, 1), Buffer.alloc(24, 2), Buffer.alloc(4096, 3)]);
  const middle = new PassThrough();
  const got: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) {
      got.push(chunk);
      setTimeout(cb, 5);
    },
  });
  const done = pipeline(source, middle, sink);
  const inCount = countBytes(source);
  const outCount = countBytes(middle);
  await done;
  assert.equal(inCount.bytes, 5120);
  assert.equal(outCount.bytes, 5120);
  assert.equal(Buffer.concat(got).length, 5120, 'the pipe got every byte too');
});
