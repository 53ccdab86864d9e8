import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, pendingId } from './approvals-harness.js';
import { auditEvents, rawHttp } from './harness.js';
import {
  type RegistryHarness,
  registryEvents,
  settled,
  skopeo,
  startRegistryHarness,
  upstreamDigest,
  writeBigOciImage,
  writeOciImage,
} from './registry-harness.js';

let h: RegistryHarness;
before(async () => {
  h = await startRegistryHarness();
});
after(async () => {
  if (h) {
    // No byte any client saw, and no audit event, holds an upstream credential or an upstream token.
    for (const [i, out] of h.clientOutput.entries()) h.assertClean(out, `client output #${i}`);
    h.assertClean(JSON.stringify(await auditEvents(h.bus)), 'audit events');
    await h.close();
  }
});

const basic = (token: string): string => `Basic ${Buffer.from(`oidc:${token}`).toString('base64')}`;
const dest = (conn: string, repo: string, tag: string): string => `docker://${h.host}/${conn}/${repo}:${tag}`;
const creds = (): string[] => ['--dest-tls-verify=false', '--dest-creds', `oidc:${h.token}`];

function image(name: string): string {
  return writeOciImage(join(h.dir, `${name}-${randomBytes(4).toString('hex')}`), 'latest', { [`${name}.txt`]: randomBytes(4096) }).ref;
}

describe('registry with skopeo', () => {
  it('registry - the ping answers a Basic challenge, and a login with the CI token as password succeeds', async () => {
    const anon = await rawHttp(h.proxy.port, 'GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(anon.status, 401);
    assert.match(anon.text, /www-authenticate: Basic realm="agentgate"/i);
    assert.match(anon.text, /docker-distribution-api-version: registry\/2\.0/i);
    assert.match(anon.text, /"code":"UNAUTHORIZED"/);
    const ok = await rawHttp(h.proxy.port, `GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(h.token)}\r\nConnection: close\r\n\r\n`);
    assert.equal(ok.status, 200);
    const login = await skopeo(h, ['login', '--tls-verify=false', '-u', 'oidc', '-p', h.token, h.host]);
    assert.equal(login.code, 0, login.stderr.slice(-2000));
    assert.match(login.stdout, /Login Succeeded/);
    const bad = await skopeo(h, ['login', '--tls-verify=false', '-u', 'oidc', '-p', 'not-a-token', h.host]);
    assert.notEqual(bad.code, 0);
  });

  for (const conn of ['hub', 'tok'] as const) {
    it(`registry - skopeo pushes a new image and tag through ${conn}, and pulls it back`, async () => {
      const repo = `acme/app-${conn}`;
      const pushed = await skopeo(h, ['copy', ...creds(), image('push'), dest(conn, repo, '1.0')]);
      assert.equal(pushed.code, 0, pushed.stderr.slice(-3000));
      const digest = upstreamDigest(h[conn], repo, '1.0');
      assert.match(String(digest), /^sha256:[a-f0-9]{64}$/);

      const back = join(h.dir, `back-${conn}`);
      const pulled = await skopeo(h, ['copy', '--src-tls-verify=false', '--src-creds', `oidc:${h.token}`, dest(conn, repo, '1.0'), `oci:${back}:1.0`]);
      assert.equal(pulled.code, 0, pulled.stderr.slice(-3000));
      const inspected = await skopeo(h, ['inspect', '--tls-verify=false', '--creds', `oidc:${h.token}`, dest(conn, repo, '1.0')]);
      assert.equal(inspected.code, 0, inspected.stderr.slice(-2000));
      assert.equal((JSON.parse(inspected.stdout) as { Digest: string }).Digest, digest);

      const events = await registryEvents(h, (e) => e.agentgate.action.connection === conn && e.agentgate.registry?.repository === repo, settled);
      const manifestPush = events.filter((e) => e.event.action === 'registry.push' && e.agentgate.action.attributes?.operation === 'put-manifest');
      assert.deepEqual(manifestPush.map((e) => e.agentgate.action.phase).sort(), ['completed', 'requested']);
      for (const e of manifestPush) {
        assert.equal(e.agentgate.registry?.tag, '1.0');
        assert.equal(e.agentgate.registry?.digest, digest);
        assert.equal(e.agentgate.registry?.tag_existed, false);
      }
      const blobPulls = events.filter((e) => e.event.action === 'registry.pull' && e.agentgate.action.attributes?.target === 'blob');
      assert.ok(blobPulls.length >= 2, 'layer and config pulled through the gateway');
      const tagPull = events.find((e) => e.event.action === 'registry.pull' && e.agentgate.registry?.tag === '1.0' && e.agentgate.action.phase === 'completed');
      assert.equal(tagPull?.agentgate.registry?.digest, digest, 'the completed pull records the digest the tag resolved to');
      // Every requested action also completed: nothing half-recorded.
      const ids = (phase: string) => new Set(events.filter((e) => e.agentgate.action.phase === phase).map((e) => e.agentgate.action.id));
      assert.deepEqual(
        [...ids('requested')].filter((id) => !ids('completed').has(id)),
        [],
      );
    });
  }

  it('registry - the token flow: the token endpoint gets the credential, tokens are scoped per repository and cached', async () => {
    const reqs = h.tokenIssuer.requests;
    assert.ok(reqs.length > 0);
    assert.ok(
      reqs.every((r) => r.authorized),
      'the gateway authenticated to the token endpoint with the brokered credential',
    );
    assert.ok(reqs.some((r) => r.scopes.includes('repository:acme/app-tok:pull,push')));
    assert.ok(reqs.some((r) => r.scopes.includes('repository:acme/app-tok:pull')));
    const forwarded = (await registryEvents(h, (e) => e.agentgate.action.connection === 'tok' && e.agentgate.action.phase === 'requested')).length;
    assert.ok(reqs.length < forwarded / 2, `tokens are cached (${reqs.length} token requests for ${forwarded} forwarded requests)`);
  });

  it('registry - skopeo: pushing a release tag again with another digest is denied with the rule, the upstream tag unchanged', async () => {
    const repo = 'acme/immutable';
    const first = await skopeo(h, ['copy', ...creds(), image('v1'), dest('hub', repo, 'v1.0.0')]);
    assert.equal(first.code, 0, first.stderr.slice(-2000));
    const before = upstreamDigest(h.hub, repo, 'v1.0.0');
    const again = await skopeo(h, ['copy', ...creds(), image('v1b'), dest('hub', repo, 'v1.0.0')]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /denied by policy \(rule immutable-tags\): release tags are immutable/);
    assert.equal(upstreamDigest(h.hub, repo, 'v1.0.0'), before, 'the upstream tag still points at the first image');
    const denied = await registryEvents(h, (e) => e.event.action === 'registry.tag_overwrite' && e.agentgate.registry?.repository === repo);
    assert.equal(denied.length, 1);
    const d = denied[0]!;
    assert.equal(d.agentgate.action.phase, 'denied');
    assert.equal(d.rule?.name, 'immutable-tags');
    assert.equal(d.agentgate.registry?.tag_existed, true);
    assert.equal(d.agentgate.registry?.previous_digest, before);
    assert.notEqual(d.agentgate.registry?.digest, before);
  });

  it('registry - skopeo: a moving tag may be overwritten, recorded as a tag overwrite with its previous digest', async () => {
    const repo = 'acme/moving';
    assert.equal((await skopeo(h, ['copy', ...creds(), image('m1'), dest('tok', repo, 'latest')])).code, 0);
    const before = upstreamDigest(h.tok, repo, 'latest');
    const again = await skopeo(h, ['copy', ...creds(), image('m2'), dest('tok', repo, 'latest')]);
    assert.equal(again.code, 0, again.stderr.slice(-2000));
    const now = upstreamDigest(h.tok, repo, 'latest');
    assert.notEqual(now, before);
    const ev = (await registryEvents(h, (e) => e.event.action === 'registry.tag_overwrite' && e.agentgate.registry?.repository === repo, 'completed')).find(
      (e) => e.agentgate.action.phase === 'completed',
    );
    assert.equal(ev?.agentgate.registry?.previous_digest, before);
    assert.equal(ev?.agentgate.registry?.digest, now);
  });

  it('registry - skopeo copy to another repository of the same connection mounts the blobs instead of uploading them', async () => {
    assert.equal((await skopeo(h, ['copy', ...creds(), image('base'), dest('hub', 'acme/base', '1')])).code, 0);
    const copied = await skopeo(h, [
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      `oidc:${h.token}`,
      ...creds(),
      dest('hub', 'acme/base', '1'),
      dest('hub', 'acme/derived', '1'),
    ]);
    assert.equal(copied.code, 0, copied.stderr.slice(-2000));
    const mounts = await registryEvents(
      h,
      (e) => e.agentgate.registry?.repository === 'acme/derived' && e.agentgate.action.attributes?.operation === 'mount',
      'completed',
    );
    assert.ok(
      mounts.some((e) => e.agentgate.action.phase === 'completed' && e.agentgate.registry?.mount_from === 'acme/base'),
      'mount recorded with its source',
    );
    assert.equal(upstreamDigest(h.hub, 'acme/derived', '1'), upstreamDigest(h.hub, 'acme/base', '1'));
  });

  it('registry - skopeo delete is held, approved through the approvals API, then executed', async () => {
    const repo = 'acme/doomed';
    assert.equal((await skopeo(h, ['copy', ...creds(), image('doomed'), dest('hub', repo, 'old')])).code, 0);
    const digest = upstreamDigest(h.hub, repo, 'old');
    const deleting = skopeo(h, ['delete', '--tls-verify=false', '--creds', `oidc:${h.token}`, dest('hub', repo, 'old')]);
    const id = await pendingId(h.proxy.url, h.approverToken, 20_000);
    const shown = await call(h.proxy.url, 'GET', `/_agentgate/approvals/${id}`, h.approverToken);
    const rec = (shown.json.approval as { binding: { kind: string; attributes: { repository: string; digest: string } } }).binding;
    assert.equal(rec.kind, 'registry.delete');
    assert.equal(rec.attributes.repository, repo);
    assert.equal(rec.attributes.digest, digest);
    assert.equal(upstreamDigest(h.hub, repo, 'old'), digest, 'nothing deleted while held');
    const ok = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken, { reason: 'cleanup' });
    assert.equal(ok.status, 200, ok.text);
    const done = await deleting;
    assert.equal(done.code, 0, done.stderr.slice(-2000));
    assert.equal(upstreamDigest(h.hub, repo, 'old'), null, 'deleted after approval');
    const phases = (await registryEvents(h, (e) => e.agentgate.action.id === id, 'completed')).map((e) => e.agentgate.action.phase);
    assert.deepEqual(phases, ['held', 'approved', 'requested', 'completed']);
  });

  it('registry - skopeo pushes and pulls a 200 MB image of four layers through the token-auth registry', async () => {
    const src = writeBigOciImage(join(h.dir, 'big'), { mb: 200, layers: 4 });
    const pushed = await skopeo(h, ['copy', ...creds(), src, dest('tok', 'acme/big', '1')]);
    assert.equal(pushed.code, 0, pushed.stderr.slice(-2000));
    const digest = upstreamDigest(h.tok, 'acme/big', '1');
    assert.ok(digest);
    const pulled = await skopeo(h, [
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      `oidc:${h.token}`,
      dest('tok', 'acme/big', '1'),
      `oci:${join(h.dir, 'big-back')}:1`,
    ]);
    assert.equal(pulled.code, 0, pulled.stderr.slice(-2000));
    const events = await registryEvents(h, (e) => e.agentgate.registry?.repository === 'acme/big', settled);
    const sum = (op: string) =>
      events
        .filter((e) => e.agentgate.action.phase === 'completed' && e.agentgate.action.attributes?.operation === op)
        .reduce((n, e) => n + (e.http?.response?.bytes ?? 0) + (e.http?.request?.bytes ?? 0), 0);
    assert.ok(sum('upload-chunk') + sum('upload-finish') >= 200 * 1024 * 1024, 'the layers went up through the gateway');
    assert.ok(sum('read') >= 200 * 1024 * 1024, 'and came back through it');
  });

  it('registry - the catalog lists only the connections policy lets the principal list, named as clients pull them', async () => {
    const r = await rawHttp(h.proxy.port, `GET /v2/_catalog HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(h.token)}\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 200, r.text);
    const body = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as { repositories: string[] };
    assert.ok(body.repositories.includes('hub/acme/app-hub'));
    assert.ok(!body.repositories.some((n) => n.startsWith('tok/')), 'the tok catalog is denied by policy');
    const denied = await registryEvents(h, (e) => e.event.action === 'registry.catalog' && e.agentgate.action.connection === 'tok');
    assert.equal(denied[0]?.agentgate.action.phase, 'denied');
    const outsider = await rawHttp(
      h.proxy.port,
      `GET /v2/_catalog HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(h.outsiderToken)}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(outsider.status, 403);
    assert.match(outsider.text, /"code":"DENIED"/);
  });
});
