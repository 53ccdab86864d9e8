import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMasker } from '@agentgate/masking';
import { IdleFlushMask } from './idle-flush-mask.js';

const SECRET = 'sk-live-0123456789abcdefXYZ';

test('idle-flush-mask - held-back bytes go out, masked, once the stream pauses (a quiet watch is not delayed)', async () => {
  const stage = new IdleFlushMask(createMasker({ detectors: [], entropy: false, secrets: [{ ref: 'k', value: SECRET }] }), 20);
  const out: string[] = [];
  stage.on('data', (c: Buffer) => out.push(c.toString()));
  stage.write(Buffer.from(`{"type":"ADDED","object":{"token":"${SECRET}"}}\n`));
  await new Promise((r) => setTimeout(r, 5));
  const early = out.join('');
  assert.ok(!early.endsWith('\n'), 'the redactor holds the tail back while more may come');
  await new Promise((r) => setTimeout(r, 60));
  const flushed = out.join('');
  assert.ok(flushed.endsWith('}}\n'), `the whole event is out after the pause: ${JSON.stringify(flushed)}`);
  assert.ok(!flushed.includes(SECRET));
  assert.equal(
    stage.findings().reduce((n, f) => n + f.count, 0),
    1,
  );
  stage.end();
});

test('idle-flush-mask - within a burst a secret split across chunks is still masked', async () => {
  const stage = new IdleFlushMask(createMasker({ detectors: [], entropy: false, secrets: [{ ref: 'k', value: SECRET }] }), 20);
  const out: string[] = [];
  stage.on('data', (c: Buffer) => out.push(c.toString()));
  const text = `line one ${SECRET} line two\n`;
  for (const ch of text) stage.write(Buffer.from(ch));
  stage.end();
  await new Promise((r) => stage.once('end', r));
  assert.ok(!out.join('').includes(SECRET));
  assert.match(out.join(''), /line one .* line two\n$/);
});
