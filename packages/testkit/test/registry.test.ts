import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Registry, requireBinary, startRegistry, tempDir } from '@agentgate/testkit';

const exec = promisify(execFile);
const work = tempDir('registry-test');
after(() => work.cleanup());

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function digestOf(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

type Headers = Record<string, string>;

async function pushBlob(reg: Registry, name: string, data: Buffer, headers: Headers): Promise<string> {
  const start = await fetch(`${reg.url}/v2/${name}/blobs/uploads/`, { method: 'POST', headers });
  assert.equal(start.status, 202);
  const location = new URL(start.headers.get('location') ?? '', reg.url);
  const digest = digestOf(data);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: data,
  });
  assert.equal(put.status, 201, await put.text());
  assert.equal(put.headers.get('docker-content-digest'), digest);
  return digest;
}

/** Pushes a one-layer OCI image with raw distribution API calls; returns the manifest bytes. */
async function pushImage(reg: Registry, name: string, tag: string, headers: Headers = {}): Promise<string> {
  const layer = Buffer.from(`layer of ${name}:${tag}`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } }));
  const layerDigest = await pushBlob(reg, name, layer, headers);
  const configDigest = await pushBlob(reg, name, config, headers);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
  });
  const put = await fetch(`${reg.url}/v2/${name}/manifests/${tag}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': OCI_MANIFEST },
    body: manifest,
  });
  assert.equal(put.status, 201, await put.text());
  assert.equal(put.headers.get('docker-content-digest'), digestOf(manifest));
  return manifest;
}

describe('registry', () => {
  test('registry - push an OCI image with raw HTTP, pull the manifest back, delete it', async () => {
    const reg = await startRegistry();
    try {
      console.log(`docker-registry start-up: ${reg.startupMs} ms`);
      const manifest = await pushImage(reg, 'team/app', 'v1');
      const get = await fetch(`${reg.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
      assert.equal(get.status, 200);
      assert.equal(await get.text(), manifest);
      const tags = (await (await fetch(`${reg.url}/v2/team/app/tags/list`)).json()) as { tags: string[] };
      assert.deepEqual(tags.tags, ['v1']);
      const del = await fetch(`${reg.url}/v2/team/app/manifests/${digestOf(manifest)}`, { method: 'DELETE' });
      assert.equal(del.status, 202, 'storage.delete.enabled is on');
      const gone = await fetch(`${reg.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
      assert.equal(gone.status, 404);
    } finally {
      await reg.stop();
    }
  });

  test('registry - htpasswd auth refuses anonymous pushes and accepts the credential', async () => {
    const creds = { username: 'upstream-bot', password: 'reg-upstream-secret' };
    const reg = await startRegistry({ auth: creds });
    try {
      const anon = await fetch(`${reg.url}/v2/`);
      assert.equal(anon.status, 401);
      assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      const anonPush = await fetch(`${reg.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
      assert.equal(anonPush.status, 401);
      const wrong = await fetch(`${reg.url}/v2/`, {
        headers: { authorization: `Basic ${Buffer.from('upstream-bot:nope').toString('base64')}` },
      });
      assert.equal(wrong.status, 401);
      const basic = { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` };
      const manifest = await pushImage(reg, 'team/app', 'v1', basic);
      const get = await fetch(`${reg.url}/v2/team/app/manifests/v1`, { headers: { ...basic, accept: OCI_MANIFEST } });
      assert.equal(await get.text(), manifest);
      assert.ok(!readFileSync(reg.configFile, 'utf8').includes(creds.password), 'only the bcrypt hash is stored');
    } finally {
      await reg.stop();
    }
  });

  test('registry - skopeo copies an image out and back in, with auth', async () => {
    const skopeo = requireBinary('skopeo', 'apt-get install -y skopeo');
    const creds = { username: 'upstream-bot', password: 'reg-upstream-secret' };
    const reg = await startRegistry({ auth: creds });
    try {
      const basic = { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` };
      await pushImage(reg, 'team/app', 'v1', basic);
      const dir = join(work.path, 'image');
      // Credentials go in an auth file, not argv, so a failure message cannot print them.
      const authfile = join(work.path, 'auth.json');
      const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
      writeFileSync(authfile, JSON.stringify({ auths: { [reg.host]: { auth } } }), { mode: 0o600 });
      const common = ['--insecure-policy', 'copy', '--quiet', `--authfile=${authfile}`];
      await exec(skopeo, [...common, '--src-tls-verify=false', `docker://${reg.host}/team/app:v1`, `oci:${dir}:v1`]);
      await exec(skopeo, [...common, '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${reg.host}/team/copy:v2`]);
      const get = await fetch(`${reg.url}/v2/team/copy/manifests/v2`, { headers: { ...basic, accept: OCI_MANIFEST } });
      assert.equal(get.status, 200);
      const manifest = (await get.json()) as { layers: unknown[] };
      assert.equal(manifest.layers.length, 1);
    } finally {
      await reg.stop();
    }
  });

  test('registry - pause() then start() keeps pushed images on the same port', async () => {
    const reg = await startRegistry();
    try {
      const manifest = await pushImage(reg, 'team/app', 'v1');
      await reg.pause();
      assert.equal(reg.running, false);
      await reg.start();
      const get = await fetch(`${reg.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
      assert.equal(await get.text(), manifest);
    } finally {
      await reg.stop();
    }
  });
});
