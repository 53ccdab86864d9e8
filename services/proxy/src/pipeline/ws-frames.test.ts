import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeFrame, serverFrame, WsFrameParser } from './ws-frames.js';

function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const key = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ (key[i & 3] as number)));
  const len = payload.length;
  const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len]) : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  return Buffer.concat([head, key, masked]);
}

test('ws-frames - frames split at any byte are reassembled, unmasked, with their raw bytes', () => {
  const a = clientFrame(2, Buffer.from([0, ...Buffer.from('hello')]));
  const b = clientFrame(2, Buffer.alloc(300, 0x41));
  const all = Buffer.concat([a, b]);
  for (let cut = 1; cut < all.length; cut += 7) {
    const p = new WsFrameParser(1 << 20, true);
    const frames = [...p.push(all.subarray(0, cut)), ...p.push(all.subarray(cut))];
    assert.equal(frames.length, 2);
    assert.equal(frames[0]?.payload.subarray(1).toString(), 'hello');
    assert.equal(frames[1]?.payload.length, 300);
    assert.deepEqual(Buffer.concat(frames.map((f) => f.raw)), all);
  }
  const s = new WsFrameParser(1 << 20, false).push(Buffer.concat([serverFrame(2, Buffer.alloc(70_000, 1)), closeFrame(1000, 'bye')]));
  assert.equal(s[0]?.payload.length, 70_000);
  assert.equal(s[1]?.opcode, 8);
});

test('ws-frames - protocol violations and oversized frames are errors with a close code', () => {
  assert.throws(() => new WsFrameParser(1 << 20, true).push(serverFrame(2, Buffer.from('x'))), { closeCode: 1002 });
  assert.throws(() => new WsFrameParser(1 << 20, false).push(clientFrame(2, Buffer.from('x'))), { closeCode: 1002 });
  assert.throws(() => new WsFrameParser(100, false).push(serverFrame(2, Buffer.alloc(200))), { closeCode: 1009 });
  // RSV1 set: permessage-deflate was never negotiated.
  assert.throws(() => new WsFrameParser(1 << 20, false).push(Buffer.from([0xc2, 0x01, 0x00])), { closeCode: 1002 });
  // A control frame must not be fragmented or longer than 125 bytes.
  assert.throws(() => new WsFrameParser(1 << 20, false).push(Buffer.from([0x09, 0x00])), { closeCode: 1002 });
});
