import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { assertHidden, errorOf, eventOf, get, type MaskingHarness, startMasking } from './masking-harness.js';

/**
 * Issue 11, item 3: the injected credential echoed back through encodings
 * the gateway did not read. Every test scans every byte the client saw
 * with an oracle that decodes JSON escapes, URL encoding, line wrapping,
 * base64 (twice) and hex on its own.
 */
describe('the injected credential through common encodings (echoing upstream, real proxy)', () => {
  let h: MaskingHarness;
  let cred: Record<string, string>;
  before(async () => {
    h = await startMasking();
    cred = { credential: h.secret };
  });
  after(async () => {
    await h?.close();
  });

  test('encodings - Transfer-Encoding: gzip, chunked is decoded like a content coding and masked', async () => {
    for (const pad of [100, 200_000]) {
      const s = await get(h, `/api/te-gzip?pad=${pad}`);
      assert.equal(s.status, 200);
      assert.ok(s.complete);
      assert.match(s.body.toString(), /^echo Bearer \[REDACTED:secret:api-token\] again \[REDACTED:secret:api-token\] \.+ end$/);
      assert.ok(!/\r\ntransfer-encoding:[^\r]*gzip/i.test(s.head), 'the client is not told about a coding it no longer gets');
      assertHidden(s, cred, `te-gzip pad ${pad}`);
    }
  });

  test('encodings - Transfer-Encoding: gzip without chunked (body to the end of the connection) is decoded and masked', async () => {
    const s = await get(h, '/api/te-gzip-close');
    assert.equal(s.status, 200);
    assert.match(s.body.toString(), /^echo Bearer \[REDACTED:secret:api-token\] again \[REDACTED:secret:api-token\] end$/);
    assertHidden(s, cred, 'te-gzip-close');
  });

  test('encodings - an unknown transfer coding is refused by default with ERR_UPSTREAM_ENCODING, recorded as failed', async () => {
    const s = await get(h, '/api/te-unknown?coding=x-custom');
    assert.equal(s.status, 502);
    assert.equal(errorOf(s).code, 'ERR_UPSTREAM_ENCODING');
    assert.match(errorOf(s).message, /Transfer-Encoding "x-custom"/);
    assertHidden(s, cred, 'te-unknown');
    const ev = await eventOf(h, '/api/te-unknown', 'failed');
    assert.ok(ev, 'a failed event was stored');
    assert.equal(ev.event.outcome, 'failure');
    assert.equal(ev.labels?.error_code, 'ERR_UPSTREAM_ENCODING');
    assert.equal(ev.labels?.response_inspected, false);
    assert.equal(ev.http?.response?.status_code, 502);
  });

  test('encodings - a gzip file without Content-Encoding holding the credential is refused (ERR_UPSTREAM_UNMASKABLE), recorded as failed', async () => {
    for (const type of ['application/gzip', 'application/x-gzip', 'application/vnd.oci.image.layer.v1.tar+gzip', 'application/octet-stream']) {
      const s = await get(h, `/api/gzip-file?type=${encodeURIComponent(type)}`);
      assert.equal(s.status, 502, type);
      assert.equal(errorOf(s).code, 'ERR_UPSTREAM_UNMASKABLE', type);
      assertHidden(s, cred, `gzip file ${type}`);
    }
    const ev = await eventOf(h, '/api/gzip-file', 'failed');
    assert.ok(ev);
    assert.equal(ev.labels?.error_code, 'ERR_UPSTREAM_UNMASKABLE');
    assert.match(ev.event.reason ?? '', /api-token/);
  });

  test('encodings - a clean gzip file goes through byte for byte (checksums still hold), with its length', async () => {
    const expected = gzipSync(`config without secrets ${'x'.repeat(300_000)}`);
    const s = await get(h, '/api/gzip-file?clean=1&pad=300000');
    assert.equal(s.status, 200);
    assert.equal(createHash('sha256').update(s.body).digest('hex'), createHash('sha256').update(expected).digest('hex'));
    assert.match(s.head, new RegExp(`\\r\\ncontent-length: ${expected.length}`, 'i'));
    const ev = await eventOf(h, '/api/gzip-file', 'completed');
    assert.equal(ev?.labels?.response_verified, 'gzip');
  });

  test('encodings - a gzip file with the credential after 1 MiB is cut before the client can decode it', async () => {
    const s = await get(h, '/api/gzip-file-late?kib=1024');
    assert.equal(s.status, 200, 'clean data went out first');
    // Decode whatever the client got, as far as it goes: the credential is not in it.
    let decoded: Buffer;
    try {
      decoded = gunzipSync(s.body, { finishFlush: 2 /* Z_SYNC_FLUSH: tolerate the cut */ });
    } catch {
      decoded = Buffer.alloc(0);
    }
    assert.ok(decoded.length > 100_000 || s.body.length > 100_000, 'a good part of the clean data was streamed');
    assert.ok(!decoded.includes('TOKEN='), 'the line holding the credential never became decodable');
    assertHidden({ ...s, body: decoded }, cred, 'gzip-file-late');
  });

  test('encodings - base64 wrapped at 60 and 76 columns (LF and CRLF) is masked at every wrap position', async () => {
    let n = 0;
    for (const width of [60, 76]) {
      for (const eol of ['lf', 'crlf']) {
        for (let prefix = 0; prefix < width + 3; prefix += 1) {
          const s = await get(h, `/api/wrapped?width=${width}&eol=${eol}&prefix=${prefix}&what=${prefix % 2 ? 'auth' : 'cred'}`);
          assert.equal(s.status, 200);
          assertHidden(s, cred, `wrapped width ${width} ${eol} prefix ${prefix}`);
          n++;
        }
      }
    }
    assert.ok(n >= 270);
  });

  test('encodings - GitHub contents API style JSON (base64, "\\n" every 60 columns), also with PHP/.NET escapes', async () => {
    for (let prefix = 0; prefix < 48; prefix++) {
      for (const php of ['', '1']) {
        const s = await get(h, `/api/contents-api?prefix=${prefix}&php=${php}`);
        assert.equal(s.status, 200);
        assertHidden(s, cred, `contents API prefix ${prefix} php ${php}`);
      }
    }
  });

  test('encodings - the injected Basic header value echoed in base64 again (depth 2), at all alignments', async () => {
    for (const prefix of ['', 'x', 'xy', 'Authorization: ']) {
      for (const lead of ['', 'a', 'ab']) {
        for (const whole of ['', '1']) {
          const q = `prefix=${encodeURIComponent(prefix)}&lead=${lead}&whole=${whole}`;
          for (const conn of ['basic', 'api']) {
            const s = await get(h, `/${conn}/double?${q}`);
            assert.equal(s.status, 200);
            assertHidden(s, cred, `${conn} double ${q}`);
          }
        }
      }
    }
  });

  test('encodings - JSON escapes inside the value (\\/, \\u002b, \\u002B, every character as \\uXXXX)', async () => {
    for (const q of ['', 'upper=1', 'all=1']) {
      for (const conn of ['api', 'cred']) {
        const s = await get(h, `/${conn}/json-escaped?${q}`);
        assert.equal(s.status, 200);
        assert.match(s.body.toString(), /\[REDACTED:secret:api-token\]/, `${conn} ${q}`);
        assertHidden(s, cred, `${conn} json-escaped ${q}`);
      }
    }
  });

  test('uninspectable - a zip (by type or by its first bytes) is refused by default with ERR_UPSTREAM_UNINSPECTABLE, recorded as failed', async () => {
    const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.from(`stored member ${h.secret}`)]);
    for (const type of ['application/zip', 'application/octet-stream', 'application/epub+zip']) {
      h.upstream.serve(zip, { 'content-type': type, 'content-length': String(zip.length) });
      const s = await get(h, '/api/served');
      assert.equal(s.status, 502, type);
      assert.equal(errorOf(s).code, 'ERR_UPSTREAM_UNINSPECTABLE', type);
      assertHidden(s, cred, `zip ${type}`);
    }
    const ev = await eventOf(h, '/api/served', 'failed');
    assert.equal(ev?.labels?.error_code, 'ERR_UPSTREAM_UNINSPECTABLE');
    assert.equal(ev?.labels?.response_inspected, false);
  });

  test('uninspectable - with uninspectable: pass, archives and unknown codings go through unchanged, labelled as not inspected', async () => {
    const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.from('an archive with nothing secret')]);
    h.upstream.serve(zip, { 'content-type': 'application/zip', 'content-length': String(zip.length) });
    let s = await get(h, '/pass/served');
    assert.equal(s.status, 200);
    assert.ok(s.body.equals(zip), 'byte for byte');
    let ev = await eventOf(h, '/pass/served', 'completed');
    assert.equal(ev?.labels?.response_inspected, false);
    assert.match(String(ev?.labels?.response_uninspected), /application\/zip/);
    s = await get(h, '/pass/ce-unknown?clean=1&coding=zstd');
    assert.equal(s.status, 200);
    assert.match(s.head, /\r\ncontent-encoding: zstd/i, 'the coding is kept, so the client can still read the body');
    assert.equal(s.body.toString(), 'opaque bytes');
    ev = await eventOf(h, '/pass/ce-unknown', 'completed');
    assert.equal(ev?.labels?.response_uninspected, 'content-encoding zstd');
    s = await get(h, '/pass/te-unknown?clean=1&coding=x-custom');
    assert.equal(s.status, 200);
    assert.match(s.head, /\r\ntransfer-encoding: x-custom, chunked/i);
    assert.equal(s.body.toString(), 'opaque bytes without anything secret');
  });
});
