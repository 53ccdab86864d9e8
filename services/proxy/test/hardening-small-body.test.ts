import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '@agentgate/events';
import { SMALL_BODY_BYTES } from '../src/pipeline/respond-upstream.js';
import { assertNoSecret, auditEvents, forbiddenForms, rawHttp } from './harness.js';
import { dechunk, getHead, type HardeningHarness, startHardening } from './hardening-harness.js';

/** Splits a raw response into its head and body bytes. */
function split(raw: Buffer): { head: string; body: Buffer } {
  const at = raw.indexOf('\r\n\r\n');
  return { head: raw.subarray(0, at).toString('latin1'), body: raw.subarray(at + 4) };
}

/** Fails naming the form and offset when any form of the credential occurs anywhere in the bytes. */
function scanEveryByte(bytes: Buffer, secret: string, where: string): void {
  forbiddenForms(secret).forEach((form, i) => {
    const at = bytes.indexOf(Buffer.from(form, 'latin1'));
    assert.equal(at, -1, `${where}: credential form #${i} at byte ${at}`);
  });
}

describe('small-body fast path (Content-Length <= 64 KiB, no Content-Encoding): masked whole, length rewritten', () => {
  let h: HardeningHarness;
  before(async () => {
    h = await startHardening();
  });
  after(async () => {
    await h?.close();
  });

  test('small body - a credential echoed in several forms and sent two bytes at a time never reaches the client; Content-Length matches the masked body', async () => {
    const r = await rawHttp(h.proxy.port, getHead(h.token, '/api/small-split'));
    assert.equal(r.status, 200);
    const { head, body } = split(r.raw);
    assert.ok(!/\r\ntransfer-encoding:/i.test(head), 'answered with a length, not chunked (the fast path)');
    const cl = /\r\ncontent-length: (\d+)/i.exec(head);
    assert.ok(cl, 'a Content-Length is sent');
    assert.equal(Number(cl[1]), body.length, 'Content-Length is the masked body length');
    scanEveryByte(r.raw, h.secret, 'small-split');
    const text = body.toString('utf8');
    assert.match(text, /^a \[REDACTED[^\]]*\] b \[REDACTED[^\]]*\] c \[REDACTED[^\]]*\] d \[REDACTED[^\]]*\]\[REDACTED[^\]]*\] e$/);
    let completed: AuditEvent | undefined;
    for (let i = 0; i < 100 && !completed; i++) {
      completed = (await auditEvents(h.bus)).find((e) => e.url?.path === '/api/small-split' && e.agentgate.action.phase === 'completed');
      if (!completed) await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(completed);
    assert.equal(completed.http?.response?.bytes, body.length, 'the event records the bytes the client got');
    assert.equal(completed.agentgate.masking?.count, 5, 'five occurrences were masked');
  });

  test('small body - at exactly 64 KiB, credentials straddling 16 KiB write boundaries and the last byte are masked; one byte more goes the stream path, masked too', async () => {
    const secretLen = Buffer.byteLength(h.secret);
    const offsets = [16384 - 7, 32768 - 1, 49152 - Math.floor(secretLen / 2), SMALL_BODY_BYTES - secretLen].join(',');
    for (const total of [SMALL_BODY_BYTES, SMALL_BODY_BYTES + 1]) {
      const r = await rawHttp(h.proxy.port, getHead(h.token, `/api/sized?total=${total}&at=${offsets}&chunk=16384`));
      assert.equal(r.status, 200);
      const { head, body } = split(r.raw);
      scanEveryByte(r.raw, h.secret, `sized ${total}`);
      assertNoSecret(r.raw, h.secret, `sized ${total}`);
      let data: Buffer;
      if (total <= SMALL_BODY_BYTES) {
        const cl = /\r\ncontent-length: (\d+)/i.exec(head);
        assert.ok(cl, 'fast path: sent with a length');
        assert.equal(Number(cl[1]), body.length);
        data = body;
      } else {
        assert.match(head, /\r\ntransfer-encoding: chunked/i, 'over 64 KiB: streamed');
        const d = dechunk(body);
        assert.equal(d.complete, true);
        data = d.data;
      }
      assert.equal((data.toString('latin1').match(/\[REDACTED/g) ?? []).length, 4, `${total}: four masks`);
      assert.equal(
        data.length - 4 * (data.toString('latin1').match(/\[REDACTED[^\]]*\]/)?.[0].length ?? 0),
        total - 4 * secretLen,
        'only the credentials were replaced',
      );
    }
  });
});
