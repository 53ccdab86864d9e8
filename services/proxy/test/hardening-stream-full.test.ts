import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BusError } from '@agentgate/bus';
import { STREAMS } from '@agentgate/events';
import { errorOf, rawHttp } from './harness.js';
import { getHead, type HardeningHarness, startHardening } from './hardening-harness.js';

const STREAM_MAX = 64 * 1024;

describe('a full audit stream (DiscardNew) refuses requests: no record, no action', () => {
  let h: HardeningHarness;
  before(async () => {
    h = await startHardening({ streamMaxBytes: STREAM_MAX });
  });
  after(async () => {
    await h?.close();
  });

  test('stream full - once AUDIT_RAW refuses new messages every request gets 503 naming the full stream and the upstream sees nothing', async () => {
    const info = await h.bus.streams.info(STREAMS.AUDIT_RAW.name);
    assert.ok(info, 'the proxy declared the raw audit stream');
    // Warm up: identity and lease caches hold, so the only thing that can refuse below is the stream.
    assert.equal((await rawHttp(h.proxy.port, getHead(h.token, '/api/warm'))).status, 200);

    // Fill it for real on nats-server until a 512-byte message is refused: an audit event (over 1 KiB) cannot fit then.
    // Not smaller fillers: nats-server before 2.10.5 admits a message that fits without its storage overhead and then
    // drops the oldest to make room (nats-io/nats-server#4771), which would make room again.
    const codes = new Set<string>();
    let stored = 0;
    for (const size of [4096, 512]) {
      for (let i = 0; i < 200; i++) {
        try {
          await h.bus.streams.publish('audit.raw.filler', new Uint8Array(size).fill(120), { timeoutMs: 2000 });
          stored++;
        } catch (err) {
          assert.ok(err instanceof BusError, 'the bus reports a typed error');
          codes.add(err.code);
          break;
        }
      }
    }
    assert.deepEqual([...codes], ['ERR_STREAM_FULL'], 'nats-server refused the fillers because the stream is full');
    assert.ok(stored > 5, `${stored} fillers stored before the stream was full`);

    const seenBefore = h.upstream.seen.length;
    for (let i = 0; i < 3; i++) {
      const r = await rawHttp(h.proxy.port, getHead(h.token, `/api/while-full-${i}`));
      assert.equal(r.status, 503);
      const err = errorOf(r.text);
      assert.equal(err.code, 'ERR_AUDIT_UNAVAILABLE');
      assert.match(err.message, /audit stream is full/);
      assert.match(err.message, /no record, no action/);
    }
    assert.equal(h.upstream.seen.length, seenBefore, 'the upstream saw none of the refused requests');
    assert.ok(!h.upstream.seen.some((u) => u.includes('while-full')));

    const after = await h.bus.streams.info(STREAMS.AUDIT_RAW.name);
    assert.ok(after.bytes <= STREAM_MAX, `the stream holds ${after.bytes} bytes, within its ${STREAM_MAX} limit`);
    const ready = await rawHttp(h.proxy.port, 'GET /_agentgate/healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
    assert.equal(ready.status, 200, 'the proxy process keeps answering');
  });
});
