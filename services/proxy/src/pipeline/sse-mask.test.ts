import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { createMasker } from '@agentgate/masking';
import { recordTerminators, SseMasker } from './sse-mask.js';

const secret = 'sse-secret-value-123456';
const masker = createMasker({ secrets: [{ ref: 'conn/x', value: secret }] });
const token = `ghp_${'a1B2c3D4'.repeat(5).slice(0, 36)}`;

async function run(chunks: Buffer[], m: SseMasker): Promise<{ out: string; pieces: string[] }> {
  const pieces: string[] = [];
  for await (const c of Readable.from(chunks).pipe(m)) pieces.push((c as Buffer).toString());
  return { out: pieces.join(''), pieces };
}

test('sse mask - any chunking gives the same output, each event masked whole', async () => {
  const events = [`data: {"t":"${secret}"}\n\n`, `data: {"t":"x ${token} y"}\r\n\r\n`, 'event: ping\ndata: ok\n\n', 'data: [DONE]\n\n'].join('');
  const expected = (await run([Buffer.from(events)], new SseMasker(masker))).out;
  assert.ok(!expected.includes(secret) && !expected.includes(token));
  assert.match(expected, /\[REDACTED:secret:conn\/x\][\s\S]*\[REDACTED:github-token\]/);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }), async (sizes) => {
      const bytes = Buffer.from(events);
      const chunks: Buffer[] = [];
      for (let pos = 0, i = 0; pos < bytes.length; i++) {
        const n = sizes[i % sizes.length]!;
        chunks.push(bytes.subarray(pos, pos + n));
        pos += n;
      }
      assert.equal((await run(chunks, new SseMasker(masker))).out, expected);
    }),
    { numRuns: 100 },
  );
});

test('sse mask - a complete event goes out at once, not after the redactor window', async () => {
  const m = new SseMasker(masker);
  const got: string[] = [];
  m.on('data', (c: Buffer) => got.push(c.toString()));
  m.write(Buffer.from('data: {"delta":"hello"}\n\ndata: {"del'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, ['data: {"delta":"hello"}\n\n']);
  m.end(Buffer.from('ta":"!"}\n\n'));
  await new Promise((r) => m.once('end', r));
  assert.equal(got.join(''), 'data: {"delta":"hello"}\n\ndata: {"delta":"!"}\n\n');
});

test('sse mask - an event larger than the bound falls back to the byte redactor and is still masked', async () => {
  const huge = `data: ${'x'.repeat(5000)} ${secret} ${'y'.repeat(5000)}`;
  const { out } = await run(
    [Buffer.from(huge.slice(0, 4000)), Buffer.from(huge.slice(4000)), Buffer.from('\n\ndata: after\n\n')],
    new SseMasker(masker, { maxEvent: 1024 }),
  );
  assert.ok(!out.includes(secret));
  assert.ok(out.endsWith('data: after\n\n'));
});

test('sse mask - newline-delimited JSON is masked line by line, each line out as soon as it is whole', async () => {
  const terminators = recordTerminators('application/x-ndjson');
  assert.ok(terminators);
  assert.equal(recordTerminators('text/plain'), undefined);
  const m = new SseMasker(masker, { terminators });
  const got: string[] = [];
  m.on('data', (c: Buffer) => got.push(c.toString()));
  m.write(Buffer.from(`{"status":"pulling"}\n{"t":"${secret}"}\n{"par`));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, ['{"status":"pulling"}\n{"t":"[REDACTED:secret:conn/x]"}\n']);
  m.end(Buffer.from('tial":1}\n'));
  await new Promise((r) => m.once('end', r));
  assert.equal(got.join(''), '{"status":"pulling"}\n{"t":"[REDACTED:secret:conn/x]"}\n{"partial":1}\n');
});
