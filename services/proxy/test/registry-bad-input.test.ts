import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '@agentgate/events';
import { auditEvents, rawHttp } from './harness.js';
import { type RegistryHarness, registryEvents, settled, startRegistryHarness, upstreamDigest } from './registry-harness.js';

let h: RegistryHarness;
const seen: string[] = [];
before(async () => {
  h = await startRegistryHarness();
});
after(async () => {
  if (h) {
    for (const [i, text] of seen.entries()) {
      h.assertClean(text, `response #${i}`);
      // Upload URLs, links and errors never name an upstream host.
      for (const host of [h.hub.host, h.tok.host, new URL(h.flaky.url).host, 'evil.example'])
        assert.ok(!text.includes(host), `response #${i} names an upstream host`);
    }
    h.assertClean(JSON.stringify(await auditEvents(h.bus)), 'audit events');
    await h.close();
  }
});

const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One raw exchange with the gateway as `acme/app` (or `token`), Basic auth like docker; the head and body are kept for the scans. */
async function req(method: string, path: string, x: { body?: Buffer | string; headers?: string; token?: string | null; timeoutMs?: number } = {}) {
  const auth = x.token === null ? '' : `Authorization: Basic ${Buffer.from(`oidc:${x.token ?? h.token}`).toString('base64')}\r\n`;
  const body = x.body === undefined ? undefined : Buffer.isBuffer(x.body) ? x.body : Buffer.from(x.body);
  const len = body === undefined ? '' : `Content-Length: ${body.length}\r\n`;
  const r = await rawHttp(
    h.proxy.port,
    `${method} ${path} HTTP/1.1\r\nHost: gw\r\n${auth}${len}${x.headers ?? ''}Connection: close\r\n\r\n`,
    body,
    x.timeoutMs ?? 15_000,
  );
  seen.push(r.text);
  const split = r.text.indexOf('\r\n\r\n');
  const head = r.text.slice(0, split);
  const text = r.text.slice(split + 4);
  const header = (name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1]?.trim();
  return { status: r.status, head, text, header };
}

function registryError(text: string): { code: string; message: string; detail: { code: string } } {
  const parsed = JSON.parse(text) as { errors: Array<{ code: string; message: string; detail: { code: string } }> };
  assert.ok(parsed.errors[0], 'a registry error body');
  return parsed.errors[0];
}

/** A config blob pushed in one PUT after the POST (monolithic upload) and a manifest referencing it: a minimal valid image. */
async function pushMinimal(conn: string, repo: string, tag: string): Promise<string> {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }),
  );
  const start = await req('POST', `/v2/${conn}/${repo}/blobs/uploads/`);
  assert.equal(start.status, 202, start.text);
  // The registry's empty 202 and 201 go out as they came: with their length, not re-framed as a chunked masked stream.
  assert.equal(start.header('content-length'), '0', start.head);
  assert.equal(start.header('transfer-encoding'), undefined, start.head);
  const up = await req('PUT', `${String(start.header('location'))}&digest=${sha(config)}`, {
    body: config,
    headers: 'Content-Type: application/octet-stream\r\n',
  });
  assert.equal(up.status, 201, up.text);
  assert.equal(up.header('content-length'), '0', up.head);
  assert.equal(up.header('location'), `/v2/${conn}/${repo}/blobs/${sha(config)}`, 'the blob Location is in the gateway URL space');
  const manifest = manifestOf(config);
  const put = await req('PUT', `/v2/${conn}/${repo}/manifests/${tag}`, { body: manifest, headers: `Content-Type: ${MANIFEST_V2}\r\n` });
  assert.equal(put.status, 201, put.text);
  assert.equal(put.header('location'), `/v2/${conn}/${repo}/manifests/${sha(manifest)}`);
  return sha(manifest);
}

function manifestOf(config: Buffer, extra: object = {}): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_V2,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
    layers: [],
    ...extra,
  });
}

const eventsOf = (repo: string): Promise<AuditEvent[]> => registryEvents(h, (e) => e.agentgate.registry?.repository === repo, settled);

describe('registry bad input', () => {
  it('registry - a monolithic blob upload and a manifest push work with raw HTTP; Location and Link are rewritten into the gateway URL space', async () => {
    await pushMinimal('hub', 'acme/raw', 'a');
    await pushMinimal('hub', 'acme/raw', 'b');
    const list = await req('GET', '/v2/hub/acme/raw/tags/list');
    assert.equal(list.status, 200, list.text);
    assert.deepEqual((JSON.parse(list.text) as { tags: string[] }).tags.sort(), ['a', 'b']);
    // Distribution 2.8 does not paginate tags: the stand-in sends a Link on its own host and one elsewhere.
    const page = await req('GET', '/v2/flaky/link/app/tags/list?n=1');
    assert.equal(page.status, 200, page.text);
    assert.equal(page.header('link'), '</v2/flaky/link/app/tags/list?last=a&n=1>; rel="next"', 'rewritten, and the foreign link dropped');
    // An upload session started through the gateway continues through the gateway.
    const start = await req('POST', '/v2/tok/acme/raw/blobs/uploads/');
    assert.equal(start.status, 202, start.text);
    const loc = String(start.header('location'));
    assert.match(loc, /^\/v2\/tok\/acme\/raw\/blobs\/uploads\/[0-9a-f-]+\?_state=/);
    const chunk = randomBytes(1000);
    const patched = await req('PATCH', loc, { body: chunk, headers: 'Content-Type: application/octet-stream\r\n' });
    assert.equal(patched.status, 202, patched.text);
    const done = await req('PUT', `${String(patched.header('location'))}&digest=${sha(chunk)}`);
    assert.equal(done.status, 201, done.text);
  });

  it('registry - a malformed manifest is refused with MANIFEST_INVALID, nothing recorded, nothing forwarded', async () => {
    const config = Buffer.from('{}');
    const cases = [
      '{not json',
      '[]',
      JSON.stringify({ schemaVersion: 1, name: 'x' }),
      manifestOf(config, { layers: [{ mediaType: 'x', size: 1, digest: 'sha256:nothex' }] }),
      manifestOf(config, { layers: [{ mediaType: 'x', size: -1, digest: sha('a') }] }),
      manifestOf(config, { mediaType: 'application/vnd.oci.image.manifest.v1+json' }),
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json' }),
    ];
    for (const body of cases) {
      const r = await req('PUT', '/v2/hub/acme/malformed/manifests/1', { body, headers: `Content-Type: ${MANIFEST_V2}\r\n` });
      assert.equal(r.status, 400, body);
      const e = registryError(r.text);
      assert.equal(e.code, 'MANIFEST_INVALID', body);
      assert.equal(e.detail.code, 'ERR_MANIFEST_INVALID');
      assert.ok(!r.text.includes('nothex'), 'the error never echoes the body');
    }
    assert.deepEqual(await eventsOf('acme/malformed'), []);
    assert.equal(upstreamDigest(h.hub, 'acme/malformed', '1'), null);
  });

  it('registry - a manifest pushed by a digest it does not hash to is refused with DIGEST_INVALID', async () => {
    const manifest = manifestOf(Buffer.from('{"a":1}'));
    const r = await req('PUT', `/v2/hub/acme/mismatch/manifests/${sha('something else')}`, { body: manifest, headers: `Content-Type: ${MANIFEST_V2}\r\n` });
    assert.equal(r.status, 400);
    assert.equal(registryError(r.text).code, 'DIGEST_INVALID');
    assert.deepEqual(await eventsOf('acme/mismatch'), []);
  });

  it('registry - an oversized manifest is refused before the upstream sees it, declared or chunked', async () => {
    const before = h.flaky.seen.length;
    const big = manifestOf(Buffer.from('{}'), { annotations: { pad: 'x'.repeat(70_000) } });
    const declared = await req('PUT', '/v2/flaky/ok/app/manifests/1', { body: big, headers: `Content-Type: ${MANIFEST_V2}\r\n` });
    assert.equal(declared.status, 413);
    assert.equal(registryError(declared.text).code, 'SIZE_INVALID');
    const chunked = await rawHttp(
      h.proxy.port,
      `PUT /v2/flaky/ok/app/manifests/1 HTTP/1.1\r\nHost: gw\r\nAuthorization: Basic ${Buffer.from(`oidc:${h.token}`).toString('base64')}\r\nContent-Type: ${MANIFEST_V2}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      `${Buffer.byteLength(big).toString(16)}\r\n${big}\r\n0\r\n\r\n`,
    );
    seen.push(chunked.text);
    assert.equal(chunked.status, 413);
    assert.equal(h.flaky.seen.length, before, 'the upstream saw nothing');
    assert.deepEqual(await eventsOf('ok/app'), []);
    // Within the limit it goes through, Location rewritten.
    const small = await req('PUT', '/v2/flaky/ok/app/manifests/1', { body: manifestOf(Buffer.from('{}')), headers: `Content-Type: ${MANIFEST_V2}\r\n` });
    assert.equal(small.status, 201, small.text);
    assert.equal(small.header('location'), '/v2/flaky/ok/app/manifests/1');
  });

  it('registry - an upload Location on another host is refused, and the action is recorded as failed', async () => {
    const r = await req('POST', '/v2/flaky/evil/app/blobs/uploads/');
    assert.equal(r.status, 502);
    const e = registryError(r.text);
    assert.equal(e.detail.code, 'ERR_UPSTREAM_FAILED');
    assert.match(e.message, /Location on another host/);
    const events = await eventsOf('evil/app');
    assert.deepEqual(
      events.map((x) => x.agentgate.action.phase),
      ['requested', 'failed'],
    );
  });

  it('registry - an upstream answering 500 reaches the client as its error, recorded as a failure', async () => {
    const r = await req('GET', '/v2/flaky/fail/app/manifests/1');
    assert.equal(r.status, 500);
    assert.match(r.text, /storage exploded/);
    const events = await eventsOf('fail/app');
    assert.deepEqual(
      events.map((x) => x.agentgate.action.phase),
      ['requested', 'completed'],
    );
    assert.equal(events[1]?.event.outcome, 'failure');
    // A manifest push needs the tag's current digest to decide: a failing HEAD refuses it before anything is decided or sent.
    const before = h.flaky.seen.filter((s) => s.method === 'PUT').length;
    const put = await req('PUT', '/v2/flaky/fail/app/manifests/2', { body: manifestOf(Buffer.from('{}')), headers: `Content-Type: ${MANIFEST_V2}\r\n` });
    assert.equal(put.status, 502);
    assert.match(registryError(put.text).message, /checking whether the tag exists failed/);
    assert.equal(h.flaky.seen.filter((s) => s.method === 'PUT').length, before);
    assert.equal((await eventsOf('fail/app')).length, 2, 'nothing more recorded');
  });

  it('registry - the upstream connections outlive a HEAD: a push asks HEAD before each upload and tag, and reconnecting after each was on its serial path', async () => {
    // Once, so each pool (the forwarder's, and the one of the adapter's own HEAD before a tag push) has its connection.
    const manifest = manifestOf(Buffer.from('{}'));
    const push = async (i: number): Promise<void> => {
      const head = await req('HEAD', `/v2/flaky/ok/app/blobs/${sha(String(i))}`);
      assert.equal(head.status, 404, head.head);
      const put = await req('PUT', `/v2/flaky/ok/app/manifests/t${i}`, { body: manifest, headers: `Content-Type: ${MANIFEST_V2}\r\n` });
      assert.equal(put.status, 201, put.text);
    };
    await push(0);
    const before = h.flaky.connections;
    const heads = h.flaky.seen.filter((s) => s.method === 'HEAD').length;
    for (let i = 1; i <= 4; i++) await push(i);
    assert.equal(h.flaky.seen.filter((s) => s.method === 'HEAD').length - heads, 8, 'a blob HEAD and a tag HEAD per push reached the upstream');
    assert.equal(h.flaky.connections - before, 0, 'no new upstream connection after the first push');
  });

  it('registry - an upstream that hangs is cut at the connection timeout with a clear error', async () => {
    const t0 = Date.now();
    const r = await req('GET', '/v2/flaky/hang/app/blobs/' + sha('x'));
    assert.equal(r.status, 504);
    assert.equal(registryError(r.text).detail.code, 'ERR_UPSTREAM_TIMEOUT');
    assert.ok(Date.now() - t0 < 10_000);
    assert.deepEqual(
      (await eventsOf('hang/app')).map((x) => x.agentgate.action.phase),
      ['requested', 'failed'],
    );
    const put = await req('PUT', '/v2/flaky/hang/app/manifests/1', { body: manifestOf(Buffer.from('{}')), headers: `Content-Type: ${MANIFEST_V2}\r\n` });
    assert.equal(put.status, 504);
    assert.equal((await eventsOf('hang/app')).length, 2, 'the push refused before deciding is not recorded');
  });

  it('registry - names, routes and principals the gateway refuses, each in the registry error format', async () => {
    const cases: Array<[string, string, { token?: string | null }, number, string]> = [
      ['GET', '/v2/nope/acme/app/manifests/1', {}, 404, 'NAME_UNKNOWN'],
      ['GET', '/v2/nope/acme/app/manifests/1', { token: null }, 401, 'UNAUTHORIZED'],
      ['GET', '/v2/hub/ACME/app/manifests/1', {}, 400, 'UNKNOWN'],
      ['GET', '/v2/hub/acme/app/manifests/bad%20tag', {}, 400, 'UNKNOWN'],
      ['GET', '/v2/hub/acme/app/blobs/sha256:short', {}, 400, 'UNKNOWN'],
      ['GET', '/v2/hub/acme/app/referrers/x', {}, 404, 'UNSUPPORTED'],
      ['POST', '/v2/hub/acme/app/manifests/1', {}, 405, 'UNSUPPORTED'],
      ['GET', '/v2/hub/acme/app/manifests/1', { token: h.outsiderToken }, 403, 'DENIED'],
      ['DELETE', '/v2/', {}, 405, 'UNSUPPORTED'],
    ];
    for (const [method, path, opts, status, code] of cases) {
      const r = await req(method, path, opts);
      assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
      assert.equal(registryError(r.text).code, code, `${method} ${path}`);
      assert.equal(r.header('docker-distribution-api-version'), 'registry/2.0');
    }
    const denied = await req('GET', '/v2/hub/acme/app/manifests/1', { token: h.outsiderToken });
    assert.match(registryError(denied.text).message, /rule only-acme/);
    const traversal = await req('GET', '/v2/hub/acme/../../x/manifests/1');
    assert.equal(traversal.status, 400);
  });
});
