import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '@agentgate/events';
import { request } from 'undici';
import { BASIC_USER } from './harness.js';
import { type RegistryHarness, registryEvents, settled, startRegistryHarness } from './registry-harness.js';

/**
 * The registry adapter streams blob bodies verbatim (README.md in
 * src/adapters/registry, "Masking"): a blob is fetched by its digest and the
 * client verifies it, so masking could only corrupt it. This file pins that
 * trade-off down: a blob the gateway would have to mask reaches the client
 * byte for byte and its record says it went out unread, while a manifest
 * holding the same credential is masked. The credential gets into the
 * upstream here the only way it can, from someone who has it (the test,
 * straight to the registry); this is the one file whose client sees it, on
 * purpose, so it has its own harness.
 */
let h: RegistryHarness;
before(async () => {
  h = await startRegistryHarness();
});
after(async () => {
  if (h) await h.close();
});

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

/** Straight to the hub registry with its credential (what a pusher holding the credential could do). */
async function direct(method: 'POST' | 'PUT', path: string, body?: Buffer | string, contentType?: string): Promise<{ status: number; location?: string }> {
  const auth = `Basic ${Buffer.from(`${BASIC_USER}:${h.secrets.hub}`).toString('base64')}`;
  const res = await request(path.startsWith('http') ? path : `${h.hub.url}${path}`, {
    method,
    headers: { authorization: auth, ...(contentType && { 'content-type': contentType }) },
    ...(body !== undefined && { body }),
  });
  await res.body.dump();
  const location = res.headers.location;
  return { status: res.statusCode, ...(typeof location === 'string' && { location }) };
}

async function uploadDirect(repo: string, blob: Buffer): Promise<string> {
  const start = await direct('POST', `/v2/${repo}/blobs/uploads/`);
  assert.equal(start.status, 202);
  const loc = new URL(String(start.location), h.hub.url);
  loc.searchParams.set('digest', sha(blob));
  const put = await direct('PUT', loc.href, blob, 'application/octet-stream');
  assert.equal(put.status, 201);
  return sha(blob);
}

/** A GET through the gateway as acme/app, with the body as bytes. */
async function viaGateway(path: string, accept?: string): Promise<{ status: number; body: Buffer }> {
  const res = await request(`${h.proxy.url}${path}`, {
    headers: { authorization: `Basic ${Buffer.from(`oidc:${h.token}`).toString('base64')}`, ...(accept && { accept }) },
  });
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
}

const completed = async (repo: string, pred: (e: AuditEvent) => boolean): Promise<AuditEvent> => {
  const events = await registryEvents(h, (e) => e.agentgate.registry?.repository === repo, settled);
  const ev = events.find((e) => e.agentgate.action.phase === 'completed' && pred(e));
  assert.ok(ev, 'a completed event');
  return ev;
};

describe('registry blobs stream verbatim', () => {
  it('registry - a blob holding the credential is served byte for byte and recorded as not inspected; a manifest holding it is masked', async () => {
    const repo = 'acme/verbatim';
    const secret = h.secrets.hub;
    // One blob small enough for the whole-body path (<= 64 KiB), one that streams in many chunks, the credential in each.
    const small = Buffer.concat([Buffer.from('{"note":"'), Buffer.from(secret), Buffer.from('"}')]);
    const large = Buffer.concat([randomBytes(100_000), Buffer.from(secret), randomBytes(300_000), Buffer.from(secret)]);
    const smallDigest = await uploadDirect(repo, small);
    const largeDigest = await uploadDirect(repo, large);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_V2,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: small.length, digest: smallDigest },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: large.length, digest: largeDigest }],
      annotations: { note: `built with ${secret}` },
    });
    assert.equal((await direct('PUT', `/v2/${repo}/manifests/t`, manifest, MANIFEST_V2)).status, 201);

    for (const [blob, digest] of [
      [small, smallDigest],
      [large, largeDigest],
    ] as const) {
      const got = await viaGateway(`/v2/hub/${repo}/blobs/${digest}`);
      assert.equal(got.status, 200);
      assert.equal(sha(got.body), digest, 'the blob arrives unchanged, so its digest verifies');
      assert.ok(got.body.equals(blob));
      const ev = await completed(repo, (e) => e.agentgate.registry?.digest === digest);
      assert.equal(ev.labels?.response_inspected, false, 'the record says the body went out unread');
      assert.equal(ev.labels?.response_uninspected, 'content-addressed blob');
      assert.equal(ev.agentgate.masking, undefined);
      // The streamed blob's bytes are counted both ways, though nothing reads them.
      assert.equal(ev.http?.response?.bytes, blob.length, 'bytes sent to the client');
      assert.equal(ev.labels?.upstream_bytes, blob.length, 'bytes read from the upstream');
    }

    const m = await viaGateway(`/v2/hub/${repo}/manifests/t`, MANIFEST_V2);
    assert.equal(m.status, 200);
    const text = m.body.toString('utf8');
    assert.ok(!text.includes(secret), 'a manifest is masked like any other body');
    assert.match(text, /\[REDACTED:secret:/);
    const ev = await completed(repo, (e) => e.agentgate.registry?.tag === 't' && e.event.action === 'registry.pull');
    assert.equal(ev.labels?.response_inspected, undefined);
    assert.ok((ev.agentgate.masking?.count ?? 0) > 0, 'the masking is on the record');
  });
});
