import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PktLineError, pkt, readPkt } from './pkt-line.js';
import { ReceivePackHeadParser } from './receive-pack-head.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);
const limits = { maxHeadBytes: 64 * 1024, maxCommands: 100 };

function body(...parts: Array<string | Buffer>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}

test('git head - commands, capabilities, push options and the pack offset are parsed', () => {
  const head = body(
    pkt(`${A} ${B} refs/heads/main\0report-status side-band-64k push-options agent=git/2.39\n`),
    pkt(`${Z} ${B} refs/tags/v1\n`),
    '0000',
    pkt('ci.skip\n'),
    '0000',
  );
  const p = new ReceivePackHeadParser(limits);
  assert.equal(p.feed(Buffer.concat([head, Buffer.from('PACK....')])), true);
  const r = p.result();
  assert.deepEqual(r.commands, [
    { old: A, new: B, ref: 'refs/heads/main' },
    { old: Z, new: B, ref: 'refs/tags/v1' },
  ]);
  assert.deepEqual(r.capabilities, ['report-status', 'side-band-64k', 'push-options', 'agent=git/2.39']);
  assert.deepEqual(r.pushOptions, ['ci.skip']);
  assert.equal(r.packOffset, head.length);
});

test('git head - the result is the same whatever the chunking', () => {
  const head = body(pkt(`shallow ${A}\n`), pkt(`${A} ${B} refs/heads/x\0report-status\n`), pkt(`${B} ${Z} refs/heads/y\n`), '0000');
  const whole = new ReceivePackHeadParser(limits);
  whole.feed(head);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: head.length }), { maxLength: 20 }), (cuts) => {
      const p = new ReceivePackHeadParser(limits);
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      let at = 0;
      for (const c of [...points, head.length]) {
        p.feed(head.subarray(at, c));
        at = c;
      }
      assert.deepEqual(p.result(), whole.result());
    }),
  );
});

test('git head - malformed input throws PktLineError, never anything else', () => {
  const bad = [
    'zzzz',
    '0003',
    'ffff',
    `${pkt('x y\n').toString('latin1')}0000`,
    '0000',
    `${pkt(`${A} ${B} refs/heads/a\n`).toString('latin1')}0001`,
    pkt(`push-cert\0x\n`).toString('latin1'),
  ];
  for (const b of bad) {
    const p = new ReceivePackHeadParser(limits);
    assert.throws(() => p.feed(Buffer.from(b, 'latin1')), PktLineError, JSON.stringify(b));
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const p = new ReceivePackHeadParser(limits);
      try {
        p.feed(Buffer.from(bytes));
        if (p.done) p.result();
      } catch (err) {
        assert.ok(err instanceof PktLineError, String(err));
      }
    }),
  );
});

test('git head - refs outside refs/, odd ref names and too many commands are refused', () => {
  for (const ref of ['HEAD', 'refs/heads/a..b', 'refs/heads/x.lock', 'refs/heads/', 'refs/heads/a b', 'refs/heads/@{1}']) {
    const p = new ReceivePackHeadParser(limits);
    assert.throws(() => p.feed(body(pkt(`${A} ${B} ${ref}\0report-status\n`), '0000')), PktLineError, ref);
  }
  const many = [pkt(`${A} ${B} refs/heads/b0\0report-status\n`)];
  for (let i = 1; i <= 100; i++) many.push(pkt(`${A} ${B} refs/heads/b${i}\n`));
  assert.throws(() => new ReceivePackHeadParser(limits).feed(Buffer.concat(many)), /at most 100 refs/);
  const big = Buffer.concat(Array.from({ length: 400 }, (_, i) => pkt(`${A} ${B} refs/heads/${'x'.repeat(150)}${i}${i === 0 ? '\0report-status' : ''}\n`)));
  assert.throws(() => new ReceivePackHeadParser({ maxHeadBytes: 64 * 1024, maxCommands: 10_000 }).feed(big), /exceed 65536 bytes/);
});

test('git pkt-line - encode/decode round trip and special packets', () => {
  const p = readPkt(pkt('hello\n'), 0);
  assert.equal(p?.type, 'data');
  assert.equal(p?.type === 'data' && p.payload.toString(), 'hello\n');
  assert.equal(readPkt(Buffer.from('0000'), 0)?.type, 'flush');
  assert.equal(readPkt(Buffer.from('0001'), 0)?.type, 'delim');
  assert.equal(readPkt(Buffer.from('000ahel'), 0), undefined, 'incomplete packet waits for more');
});
