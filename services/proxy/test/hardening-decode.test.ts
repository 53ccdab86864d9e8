import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '@agentgate/events';
import type { ProxyHandle } from '../src/index.js';
import { assertNoSecret, auditEvents, errorOf, rawHttp } from './harness.js';
import { dechunk, getHead, type HardeningHarness, startHardening } from './hardening-harness.js';

const MIB = 1024 * 1024;

/** Waits for a stored audit event matching `pred` (outcome events are published after the response). */
async function waitEvent(h: HardeningHarness, pred: (e: AuditEvent) => boolean): Promise<AuditEvent | undefined> {
  for (let i = 0; i < 100; i++) {
    const hit = (await auditEvents(h.bus)).find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

const eventOf = (h: HardeningHarness, path: string, phase: string) => waitEvent(h, (e) => e.url?.path === path && e.agentgate.action.phase === phase);

function bodyOf(raw: Buffer): Buffer {
  return raw.subarray(raw.indexOf('\r\n\r\n') + 4);
}

describe('decompression bombs: decoded upstream bodies are bounded by gateway.limits.maxDecodedBytes', () => {
  let h: HardeningHarness;
  /** maxDecodedBytes smaller than zlib's first output chunk (16 KiB): the limit is hit before the head goes out. */
  let tiny: ProxyHandle;
  before(async () => {
    h = await startHardening({ limits: { maxDecodedBytes: MIB } });
    tiny = await h.extraProxy({ limits: { maxDecodedBytes: 4096 } });
    // The upstream compresses each bomb once and caches it: build them here, outside the timed requests.
    for (const enc of ['gzip', 'deflate', 'br']) await fetch(`${h.upstream.url}/bomb?mib=64&enc=${enc}`).then((r) => r.arrayBuffer());
  });
  after(async () => {
    await h?.close();
  });

  test('decode limit - a gzip bomb hitting the limit in its first chunk gets a clean 502 naming the connection, recorded as failed', async () => {
    const r = await rawHttp(tiny.port, getHead(h.token, '/api/bomb?mib=64&enc=gzip'));
    assert.equal(r.status, 502);
    const err = errorOf(r.text);
    assert.equal(err.code, 'ERR_UPSTREAM_TOO_LARGE');
    assert.match(err.message, /connection "api"/);
    assert.match(err.message, /maxDecodedBytes/);
    assert.ok(!/\r\ncontent-encoding:/i.test(r.text), 'the refusal carries none of the upstream head');
    const failed = await eventOf(h, '/api/bomb', 'failed');
    assert.ok(failed, 'a failed event was stored');
    assert.equal(failed.event.outcome, 'failure');
    assert.match(failed.event.reason ?? '', /maxDecodedBytes/);
    assert.equal(failed.http?.response?.status_code, 502, 'the event records what the client got, not the upstream 200');
    assert.equal(failed.labels?.upstream_status, 200);
    assert.ok(Number(failed.labels?.upstream_bytes) < 200_000, 'decoding stopped long before the upstream body was read through');
  });

  const counted = new Set<string>();
  for (const enc of ['gzip', 'deflate', 'br']) {
    test(`decode limit - a ${enc} bomb passing the limit after the head is cut: the body never terminates and stays under the limit`, async () => {
      const path = `/api/bomb?mib=64&enc=${enc}`;
      const started = Date.now();
      const r = await rawHttp(h.proxy.port, getHead(h.token, path));
      assert.equal(r.status, 200);
      assert.match(r.text, /\r\ntransfer-encoding: chunked/i);
      const body = dechunk(bodyOf(r.raw));
      assert.equal(body.complete, false, 'the chunked body has no terminating chunk: the client can tell it was cut');
      assert.ok(body.data.length <= MIB, `${body.data.length} bytes reached the client, over the 1 MiB limit`);
      // Generous for a loaded CI machine: what it catches is a gateway that decodes and masks the whole 64 MiB first.
      assert.ok(Date.now() - started < 20_000, 'the cut came early, not after decoding 64 MiB');
      // Each coding's cut is its own failed event: skip the ones earlier codings left.
      const mine = await waitEvent(
        h,
        (e) =>
          e.url?.path === '/api/bomb' &&
          e.agentgate.action.phase === 'failed' &&
          e.http?.response?.status_code === 200 &&
          (e.event.reason ?? '').includes(`${MIB} bytes`) &&
          !counted.has(e.agentgate.action.id),
      );
      if (mine) counted.add(mine.agentgate.action.id);
      assert.ok(mine, 'the cut is recorded as a failed event with the limit in its reason');
    });
  }

  test('decode limit - a compressed body under the limit still decodes, is masked and terminates', async () => {
    const r = await rawHttp(h.proxy.port, getHead(h.token, '/api/gzip-echo'));
    assert.equal(r.status, 200);
    const body = dechunk(bodyOf(r.raw));
    assert.equal(body.complete, true);
    const text = body.data.toString('utf8');
    assert.match(text, /^before \[REDACTED/);
    assert.match(text, / end$/);
    assertNoSecret(r.raw, h.secret, 'gzip-echo');
    assert.ok(await eventOf(h, '/api/gzip-echo', 'completed'));
  });

  test('decode - a corrupt gzip body is refused with a clean 502 ERR_UPSTREAM_FAILED instead of a cut 200', async () => {
    const r = await rawHttp(h.proxy.port, getHead(h.token, '/api/corrupt-gzip'));
    assert.equal(r.status, 502);
    assert.equal(errorOf(r.text).code, 'ERR_UPSTREAM_FAILED');
    assert.match(errorOf(r.text).message, /connection "api"/);
    assert.ok(await eventOf(h, '/api/corrupt-gzip', 'failed'));
  });

  test('decode limit - the proxy keeps serving after the bombs', async () => {
    const r = await rawHttp(h.proxy.port, getHead(h.token, '/api/plain'));
    assert.equal(r.status, 200);
    assertNoSecret(r.raw, h.secret, 'plain');
  });
});
