import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { buildTestImage, type DockerCli, type DockerRun, dockerCli } from '@agentgate/testkit';
import { auditEvents } from './harness.js';
import { type RegistryHarness, registryEvents, settled, startRegistryHarness, upstreamDigest } from './registry-harness.js';

/**
 * The real Docker CLI against a real engine (Debian's dockerd 20.10, started
 * by .ci/install-docker.sh) pushing and pulling through the gateway. Images
 * are built locally (no registry is reachable) FROM scratch with random
 * files: the engine gzips every layer it pushes, and on this shared 2-core
 * machine the 200 MB debootstrapped base would double the file's time.
 */
let h: RegistryHarness;
let docker: DockerCli;
let logOffset = 0;
const outputs: string[] = [];
const run_ = randomBytes(3).toString('hex');
/** The layer both builds of acme/web share (the builder's cache keeps its digest). */
const lib = randomBytes(512 * 1024);

before(async () => {
  // Fails loudly (saying to run .ci/install-docker.sh) when there is no engine: never skipped.
  docker = await dockerCli();
  logOffset = docker.engineLogOffset();
  h = await startRegistryHarness();
});
after(async () => {
  if (h) {
    for (const [i, out] of outputs.entries()) h.assertClean(out, `docker output #${i}`);
    h.assertClean(docker.engineLogSince(logOffset), 'the engine log');
    h.assertClean(JSON.stringify(await auditEvents(h.bus)), 'audit events');
    await h.close();
  }
  if (docker) {
    const mine = await docker.run(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    const tags = mine.stdout.split('\n').filter((t) => h && t.startsWith(`${h.host}/`));
    if (tags.length > 0) await docker.run(['rmi', '-f', ...tags]);
    docker.close();
  }
});

/** `docker -D <args>`: debug output on, every byte kept for the credential scan. */
async function d(args: string[], input?: string): Promise<DockerRun> {
  const r = await docker.run(['-D', ...args], input === undefined ? {} : { input });
  outputs.push(r.stdout, r.stderr);
  return r;
}

const ref = (conn: string, repo: string, tag: string): string => `${h.host}/${conn}/${repo}:${tag}`;

describe('registry with the docker CLI', () => {
  it('registry - docker login with the CI token as password', async () => {
    const r = await d(['login', h.host, '-u', 'oidc', '--password-stdin'], h.token);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match(r.stdout, /Login Succeeded/);
    const bad = await d(['login', h.host, '-u', 'oidc', '--password-stdin'], 'not-a-token');
    assert.notEqual(bad.code, 0);
    // The failed attempt must not have replaced the stored login.
    assert.equal((await d(['login', h.host, '-u', 'oidc', '--password-stdin'], h.token)).code, 0);
  });

  it('registry - docker push of a new image and tag, pull back, and a release tag overwrite denied with the rule', async () => {
    const web = ref('hub', 'acme/web', 'v1.0');
    await buildTestImage(docker, {
      tag: web,
      layers: [
        { name: `lib-${run_}.bin`, content: lib },
        { name: `app-${run_}.txt`, size: 2048 },
      ],
    });
    const pushed = await d(['push', web]);
    assert.equal(pushed.code, 0, pushed.stderr.slice(-3000));
    const digest = upstreamDigest(h.hub, 'acme/web', 'v1.0');
    assert.match(String(digest), /^sha256:/);
    assert.ok(pushed.stdout.includes(String(digest)), 'docker printed the digest the upstream holds');

    assert.equal((await d(['rmi', web])).code, 0);
    const pulled = await d(['pull', web]);
    assert.equal(pulled.code, 0, pulled.stderr.slice(-3000));
    assert.ok(pulled.stdout.includes(String(digest)));

    // Same tag, another image: denied, and docker prints the rule and its reason.
    await buildTestImage(docker, {
      tag: web,
      layers: [
        { name: `lib-${run_}.bin`, content: lib },
        { name: `app-${run_}.txt`, size: 4096 },
      ],
    });
    const again = await d(['push', web]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr + again.stdout, /denied by policy \(rule immutable-tags\): release tags are immutable/);
    assert.equal(upstreamDigest(h.hub, 'acme/web', 'v1.0'), digest, 'the upstream tag is unchanged');

    const events = await registryEvents(h, (e) => e.agentgate.registry?.repository === 'acme/web', settled);
    const denied = events.filter((e) => e.agentgate.action.phase === 'denied');
    assert.equal(denied.length, 1);
    assert.equal(denied[0]?.event.action, 'registry.tag_overwrite');
    assert.equal(denied[0]?.agentgate.registry?.previous_digest, digest);
    const manifest = events.filter((e) => e.agentgate.action.attributes?.operation === 'put-manifest' && e.event.action === 'registry.push');
    assert.deepEqual(manifest.map((e) => e.agentgate.action.phase).sort(), ['completed', 'requested']);
    assert.ok(manifest.every((e) => e.agentgate.registry?.digest === digest && e.agentgate.registry?.tag === 'v1.0'));
  });

  it('registry - docker push to another repository of the connection mounts the layers it already has', async () => {
    // The local v1.0 is now the refused rebuild: its first layer is shared with the pushed image, the second is new.
    const src = ref('hub', 'acme/web', 'v1.0');
    const copy = ref('hub', 'acme/web-copy', '1');
    assert.equal((await d(['tag', src, copy])).code, 0);
    const pushed = await d(['push', copy]);
    assert.equal(pushed.code, 0, pushed.stderr.slice(-3000));
    assert.match(pushed.stdout, /Mounted from hub\/acme\/web/);
    const mounts = await registryEvents(
      h,
      (e) => e.agentgate.registry?.repository === 'acme/web-copy' && e.agentgate.action.attributes?.operation === 'mount',
      settled,
    );
    assert.ok(mounts.some((e) => e.agentgate.action.phase === 'completed' && e.agentgate.registry?.mount_from === 'acme/web'));
    assert.match(String(upstreamDigest(h.hub, 'acme/web-copy', '1')), /^sha256:/);
  });

  it('registry - a 200 MB image with four layers: docker push and pull through the token-auth registry', async () => {
    const big = ref('tok', 'acme/big', '1');
    const mib = 1024 * 1024;
    await buildTestImage(docker, {
      tag: big,
      layers: [0, 1, 2, 3].map((i) => ({ name: `layer${i}-${run_}.bin`, size: 50 * mib })),
    });
    const t0 = Date.now();
    const pushed = await d(['push', big]);
    assert.equal(pushed.code, 0, pushed.stderr.slice(-3000));
    const pushMs = Date.now() - t0;
    const digest = upstreamDigest(h.tok, 'acme/big', '1');
    assert.ok(digest);
    assert.equal((await d(['rmi', big])).code, 0);
    const t1 = Date.now();
    const pulled = await d(['pull', big]);
    assert.equal(pulled.code, 0, pulled.stderr.slice(-3000));
    const pullMs = Date.now() - t1;
    assert.ok(pulled.stdout.includes(String(digest)));
    const blobs = await registryEvents(
      h,
      (e) => e.agentgate.registry?.repository === 'acme/big' && e.event.action === 'registry.pull' && e.agentgate.action.attributes?.target === 'blob',
      settled,
    );
    const bytes = blobs.filter((e) => e.agentgate.action.phase === 'completed').reduce((n, e) => n + (e.http?.response?.bytes ?? 0), 0);
    assert.ok(bytes >= 200 * mib, `about 200 MB of layers came through the gateway (${bytes} bytes)`);
    console.log(`# 200 MB image through the gateway (tok, token flow): push ${pushMs} ms, pull ${pullMs} ms`);
  });
});
