import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { tempDir } from '@agentgate/testkit';
import { spoolBody } from './spool.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function readAll(src: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(src)) return src;
  const chunks: Buffer[] = [];
  for await (const c of src) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Splits `b` into irregular chunks, as a client on a slow link would send it. */
function chunked(b: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let i = 0, n = 1; i < b.length; i += n, n = (n * 7) % 5003 || 1) parts.push(b.subarray(i, i + n));
  return Readable.from(parts);
}

test('spool - a small body stays in memory; digest, size, head and bytes are exact', async () => {
  const dir = tempDir('spool-unit');
  try {
    const body = Buffer.from('{"title":"hello"}');
    const s = await spoolBody(chunked(body), { maxBytes: 1024, memoryBytes: 1024, dir: join(dir.path, 'spool'), headBytes: 4 });
    assert.equal(s.where, 'memory');
    assert.equal(s.sha256, sha(body));
    assert.equal(s.bytes, body.length);
    assert.deepEqual(s.head, body.subarray(0, 4));
    assert.deepEqual(await readAll(s.take()), body);
    assert.throws(() => s.take(), /already taken/);
    await s.close();
  } finally {
    dir.cleanup();
  }
});

test('spool - a large body goes to an unlinked file: nothing is left in the directory, the bytes come back whole', async () => {
  const dir = tempDir('spool-unit');
  try {
    const body = randomBytes(700 * 1024);
    const spoolDir = join(dir.path, 'spool');
    const s = await spoolBody(chunked(body), { maxBytes: 1024 * 1024, memoryBytes: 64 * 1024, dir: spoolDir, headBytes: 1000 });
    assert.equal(s.where, 'file');
    assert.equal(statSync(spoolDir).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(spoolDir), [], 'the file was unlinked when created');
    assert.equal(s.sha256, sha(body));
    assert.deepEqual(s.head, body.subarray(0, 1000));
    const out = await readAll(s.take());
    assert.equal(sha(out), sha(body));
    await s.close();
  } finally {
    dir.cleanup();
  }
});

test('spool - past maxBytes the body is refused with ERR_APPROVAL_BODY_TOO_LARGE, streamed or buffered', async () => {
  const dir = tempDir('spool-unit');
  try {
    const opts = { maxBytes: 100 * 1024 - 1, memoryBytes: 1024, dir: join(dir.path, 'spool'), headBytes: 10 };
    await assert.rejects(spoolBody(chunked(randomBytes(100 * 1024)), opts), { code: 'ERR_APPROVAL_BODY_TOO_LARGE', status: 413 });
    await assert.rejects(spoolBody(randomBytes(100 * 1024), opts), { code: 'ERR_APPROVAL_BODY_TOO_LARGE' });
    // Exactly at the limit is fine.
    const ok = await spoolBody(chunked(randomBytes(opts.maxBytes)), opts);
    assert.equal(ok.bytes, opts.maxBytes);
    await ok.close();
  } finally {
    dir.cleanup();
  }
});

test('spool - an error of the source (client abort, gateway body limit) passes through unchanged', async () => {
  const dir = tempDir('spool-unit');
  try {
    const boom = Object.assign(new Error('aborted'), { code: 'ERR_BAD_REQUEST' });
    const src = new Readable({
      read() {
        this.push(randomBytes(100 * 1024));
        this.destroy(boom);
      },
    });
    await assert.rejects(spoolBody(src, { maxBytes: 1024 * 1024, memoryBytes: 1024, dir: join(dir.path, 'spool'), headBytes: 10 }), boom);
  } finally {
    dir.cleanup();
  }
});
