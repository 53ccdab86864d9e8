import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createMasker } from '@agentgate/masking';
import type { SessionCodec } from '../adapters/types.js';
import { OP_BINARY, OP_CLOSE, serverFrame, WsFrameParser } from './ws-frames.js';
import { WsRelay } from './ws-relay.js';

const SECRET = 'tok_7Qm2vX9pLs4Kd8Rw';
// First payload byte is the channel, as in the kubernetes channel protocols.
const codec: SessionCodec = {
  split: (p) => (p.length > 0 ? { channel: p[0] as number, data: p.subarray(1) } : undefined),
  join: (channel, data) => Buffer.concat([Buffer.from([channel]), data]),
  channelName: (c) => ['stdin', 'stdout', 'stderr', 'error', 'close'][c] ?? `channel-${c}`,
};

function relay(): { r: WsRelay; out: () => Buffer[] } {
  const client = new PassThrough();
  const upstream = new PassThrough();
  const masker = createMasker({ detectors: [], entropy: false, secrets: [{ ref: 'k', value: SECRET }] });
  const r = new WsRelay({
    client,
    upstream,
    clientHead: Buffer.alloc(0),
    upstreamHead: Buffer.alloc(0),
    protocol: 'v5.channel.k8s.io',
    codec,
    masker,
    recordBytes: 1024,
    maxFrame: 1 << 20,
  });
  const sent: Buffer[] = [];
  client.on('data', (c: Buffer) => sent.push(c));
  const out = (): Buffer[] => new WsFrameParser(1 << 20, false).push(Buffer.concat(sent)).map((f) => f.payload);
  return { r, out };
}

const frame = (channel: number, text: string) => new WsFrameParser(1 << 20, false).push(serverFrame(OP_BINARY, codec.join(channel, Buffer.from(text))))[0]!;

test('ws relay - a secret split across two messages of one channel is masked; the hold-back is flushed when another channel speaks', async () => {
  const { r, out } = relay();
  r.upstreamFrame(frame(1, `key=${SECRET.slice(0, 8)}`));
  r.upstreamFrame(frame(1, `${SECRET.slice(8)} done`));
  r.upstreamFrame(frame(2, 'warn'));
  await new Promise((res) => setImmediate(res));
  const stdout = out()
    .filter((p) => p[0] === 1)
    .map((p) => p.subarray(1).toString())
    .join('');
  assert.ok(!stdout.includes(SECRET), 'the secret never reaches the client whole');
  assert.match(stdout, /^key=.+ done$/);
  assert.equal(r.summary.messagesOut, 3);
  assert.ok(r.summary.bytesOut > 0);
  r.finish('client-closed');
});

test('ws relay - a control frame passes after pending output; finish ends the session once', async () => {
  const { r, out } = relay();
  r.upstreamFrame(frame(1, `a ${SECRET.slice(0, 5)}`));
  const close = new WsFrameParser(1 << 20, false).push(serverFrame(OP_CLOSE, Buffer.from([0x03, 0xe8])))[0]!;
  r.upstreamFrame(close);
  await new Promise((res) => setImmediate(res));
  const payloads = out();
  assert.equal(payloads.at(-1)?.toString('hex'), '03e8', 'the close frame comes last');
  assert.ok(
    payloads.slice(0, -1).some((p) => p[0] === 1),
    'the held-back stdout went out before it',
  );
  r.finish('upstream-closed');
  r.finish('error');
  assert.equal(r.summary.end, 'upstream-closed');
  assert.equal(r.ended, true);
});
