import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { makeClientCertificate, tempDir } from '@agentgate/testkit';
import { assertNoSecret } from './harness.js';
import { eventsWhere, type KubeHarness, startKubeHarness } from './kube-harness.js';

// Upstream TLS and credentials, and bad input, against a real kube-apiserver (one for this file).
let h: KubeHarness;
const pki = tempDir('kube-client-pki');
let cert: ReturnType<typeof makeClientCertificate>;
before(async () => {
  cert = makeClientCertificate(pki.path, 'agentgate-gw-cert', 'agentgate-gateways');
  h = await startKubeHarness({
    cluster: true,
    clientCaFile: cert.caFile,
    maxBodyBytes: 1024 * 1024,
    extraSecrets: '  - { ref: kube-cert, source: env, env: KUBE_TEST_CERT }',
    extraEnv: { KUBE_TEST_CERT: cert.bundlePem },
    extraConnections: ({ kube }) => `  - name: cluster-cert
    type: kubernetes
    upstream: ${kube?.url}
    credential: { ref: kube-cert, inject: client-certificate }
    options: { caFile: ${kube?.caFile} }
  - name: cluster-noimp
    type: kubernetes
    upstream: ${kube?.url}
    credential: { ref: kube-token, inject: bearer }
    options: { caFile: ${kube?.caFile} }
  - name: wrong-ca
    type: kubernetes
    upstream: ${kube?.url}
    credential: { ref: kube-token, inject: bearer }
    options: { caFile: ${cert.caFile} }
  - name: system-ca
    type: kubernetes
    upstream: ${kube?.url}
    credential: { ref: kube-token, inject: bearer }`,
  });
  // No controller-manager runs, so the aggregated `view` role is empty: an explicit role instead.
  const role = await h.admin(['create', 'clusterrole', 'gateways-read', '--verb=get,list,watch', '--resource=deployments.apps']);
  assert.equal(role.code, 0, role.stderr);
  const rbac = await h.admin(['create', 'clusterrolebinding', 'gateways-read', '--clusterrole=gateways-read', '--group=agentgate-gateways']);
  assert.equal(rbac.code, 0, rbac.stderr);
  const ns = await h.admin(['create', 'namespace', 'dev']);
  assert.equal(ns.code, 0, ns.stderr);
  await h.admin(['create', 'secret', 'generic', 'db', '-n', 'dev', '--from-literal=password=correct-horse-battery-staple-42']);
  await h.admin(['create', 'deployment', 'web', '--image=nginx', '-n', 'dev']);
  await h.admin(['create', 'configmap', 'settings', '-n', 'dev', '--from-literal=mode=test']);
});
after(async () => {
  await h?.close();
  pki.cleanup();
});

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request through the gateway, with the agent's token unless `auth` is given. */
function raw(method: string, path: string, o: { headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(`${h.proxy.url}${path}`, { method, headers: { authorization: `Bearer ${h.token}`, connection: 'close', ...o.headers } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (o.body !== undefined && o.chunked) {
      const b = Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
      for (let i = 0; i < b.length; i += 64 * 1024) req.write(b.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(o.body);
  });
}

function status(r: Raw): { kind: string; reason: string; code: number; message: string; details?: { causes?: Array<{ reason: string }> } } {
  return JSON.parse(r.body);
}

describe('kubernetes upstream', () => {
  it('kubernetes upstream - a client-certificate credential authenticates the gateway; the API server is verified against the CA', async () => {
    const who = await h.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { connection: 'cluster-cert', verbose: false });
    assert.equal(who.stdout, 'agentgate-gw-cert', who.stderr);
    const ns = await h.kubectl(['get', 'deployments', '-n', 'dev', '-o', 'name'], { connection: 'cluster-cert' });
    assert.equal(ns.code, 0, ns.stderr.slice(-1000));
    assert.match(ns.stdout, /deployment.apps\/web/);
    // The cluster's own RBAC still applies to the gateway's identity, and its refusal reaches the client as it is.
    const cm = await h.kubectl(['get', 'configmaps', '-n', 'dev'], { connection: 'cluster-cert', verbose: false });
    assert.notEqual(cm.code, 0);
    assert.match(cm.stderr, /Error from server \(Forbidden\): configmaps is forbidden: User "agentgate-gw-cert"/);
    // The private key of the certificate is a credential like any other: never shown.
    const key = /-----BEGIN PRIVATE KEY-----([\s\S]*?)-----END/.exec(cert.bundlePem)?.[1]?.replace(/\s/g, '') ?? '';
    assert.ok(key.length > 40);
    for (const b of h.clientBytes) assert.ok(!b.replace(/\s/g, '').includes(key));
  });

  it('kubernetes upstream - an API server whose certificate does not verify is refused with ERR_UPSTREAM_TLS', async () => {
    for (const conn of ['wrong-ca', 'system-ca']) {
      const r = await raw('GET', `/${conn}/api/v1/namespaces`);
      assert.equal(r.status, 502, r.body);
      const s = status(r);
      assert.equal(s.kind, 'Status');
      assert.equal(s.details?.causes?.[0]?.reason, 'ERR_UPSTREAM_TLS');
      assertNoSecret(r.body, h.secret, conn);
    }
  });

  it('kubernetes upstream - client Impersonate-* headers are stripped even where the gateway credential may impersonate', async () => {
    const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    const r = await raw('POST', '/cluster-noimp/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      headers: {
        'content-type': 'application/json',
        'impersonate-user': 'system:admin',
        'Impersonate-Group': 'system:masters',
        'impersonate-uid': '1',
        'impersonate-extra-scopes': 'x',
      },
      body,
    });
    assert.equal(r.status, 201, r.body);
    assert.equal(JSON.parse(r.body).status.userInfo.username, 'agentgate-gw', 'the request ran as the gateway, not as the user the client named');
  });

  it('kubernetes upstream - a protobuf Accept on a Secret read gets JSON back, masked', async () => {
    const r = await raw('GET', '/cluster/api/v1/namespaces/dev/secrets/db', { headers: { accept: 'application/vnd.kubernetes.protobuf, application/json' } });
    assert.equal(r.status, 200, r.body);
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.ok(!r.body.includes(Buffer.from('correct-horse-battery-staple-42').toString('base64')));
    assert.match(r.body, /"password":"/);
  });

  it('kubernetes bad input - malformed paths get a 400 Status; unknown resources get the API server 404, recorded', async () => {
    for (const p of [
      '/cluster/api/v1/namespaces//pods',
      '/cluster/api/v1/namespaces/Dev/pods',
      '/cluster/apis/apps/one/deployments',
      '/cluster/api/v1/pods/a%20b',
    ]) {
      const r = await raw('GET', p);
      assert.equal(r.status, 400, `${p}: ${r.body}`);
      const s = status(r);
      assert.deepEqual([s.kind, s.reason, s.details?.causes?.[0]?.reason], ['Status', 'BadRequest', 'ERR_KUBE_BAD_PATH']);
    }
    // An unknown resource of a served group: the API server's NotFound Status, its reason on the record.
    const unknown = await raw('GET', '/cluster/api/v1/namespaces/dev/widgets');
    assert.equal(unknown.status, 404, unknown.body);
    assert.equal(status(unknown).reason, 'NotFound');
    const done = await eventsWhere(
      h,
      (e) => e.agentgate.kubernetes?.resource === 'widgets' && e.agentgate.kubernetes?.api_group === undefined && e.agentgate.action.phase === 'completed',
    );
    assert.equal(done[0]?.agentgate.kubernetes?.status_reason, 'NotFound');
    assert.equal(done[0]?.http?.response?.status_code, 404);
    // An unknown group: the API server answers a plain-text 404, passed on and recorded.
    const group = await raw('GET', '/cluster/apis/widgets.example.com/v1/namespaces/dev/widgets');
    assert.equal(group.status, 404);
    const g = await eventsWhere(h, (e) => e.agentgate.kubernetes?.api_group === 'widgets.example.com' && e.agentgate.action.phase === 'completed');
    assert.equal(g[0]?.http?.response?.status_code, 404);
    const k = await h.kubectl(['get', 'widgets', '-n', 'dev'], { verbose: false });
    assert.notEqual(k.code, 0);
    assert.match(k.stderr, /doesn't have a resource type "widgets"/);
  });

  it('kubernetes bad input - oversized and unreadable bodies of a scale write are refused with a Status', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const declared = await raw('PATCH', '/cluster/apis/apps/v1/namespaces/dev/deployments/web', {
      headers: { 'content-type': 'application/merge-patch+json' },
      body: big,
    });
    assert.equal(declared.status, 413);
    assert.equal(status(declared).reason, 'RequestEntityTooLarge');
    const chunked = await raw('PATCH', '/cluster/apis/apps/v1/namespaces/dev/deployments/web', {
      headers: { 'content-type': 'application/merge-patch+json', 'transfer-encoding': 'chunked' },
      body: big.subarray(0, 1024 * 1024 + 100 * 1024),
      chunked: true,
    });
    assert.equal(chunked.status, 413, chunked.body.slice(0, 300));
    const proto = await raw('PATCH', '/cluster/apis/apps/v1/namespaces/dev/deployments/web/scale', {
      headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
      body: 'k8s\x00',
    });
    assert.equal(proto.status, 415);
    assert.equal(status(proto).reason, 'UnsupportedMediaType');
    const broken = await raw('PATCH', '/cluster/apis/apps/v1/namespaces/dev/deployments/web', {
      headers: { 'content-type': 'application/merge-patch+json' },
      body: '{"spec":',
    });
    assert.equal(broken.status, 400);
    assert.equal(status(broken).details?.causes?.[0]?.reason, 'ERR_KUBE_BODY_MALFORMED');
    const still = await h.admin(['get', 'deployment', 'web', '-n', 'dev', '-o', 'jsonpath={.spec.replicas}']);
    assert.equal(still.stdout, '1');
  });

  it('kubernetes bad input - a watch the client abandons is recorded and the gateway keeps serving', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const req = request(`${h.proxy.url}/cluster/api/v1/namespaces/dev/configmaps?watch=true`, { headers: { authorization: `Bearer ${h.token}` } }, (res) => {
        res.once('data', (c: Buffer) => {
          req.destroy();
          resolve(c.toString());
        });
      });
      req.on('error', () => {});
      req.on('close', () => resolve(''));
      req.on('timeout', () => reject(new Error('no event')));
      req.end();
    });
    assert.match(got, /"type":"ADDED"/);
    const ended = await eventsWhere(
      h,
      (e) =>
        e.event.action === 'kubernetes.watch' &&
        e.agentgate.kubernetes?.resource === 'configmaps' &&
        ['completed', 'failed'].includes(e.agentgate.action.phase),
    );
    assert.equal(ended.length, 1);
    const again = await raw('GET', '/cluster/api/v1/namespaces/dev/configmaps');
    assert.equal(again.status, 200);
  });

  it('kubernetes bad input - an API server that goes away mid-watch ends the stream; calls meanwhile get a clean 502; it serves again after', async () => {
    let received = '';
    const ended = new Promise<void>((resolve) => {
      const req = request(
        `${h.proxy.url}/cluster/apis/apps/v1/namespaces/dev/deployments?watch=true`,
        { headers: { authorization: `Bearer ${h.token}` } },
        (res) => {
          res.on('data', (c: Buffer) => {
            received += c.toString();
          });
          res.on('end', () => resolve());
          res.on('error', () => resolve());
          res.on('aborted', () => resolve());
        },
      );
      req.on('error', () => resolve());
      req.end();
    });
    const deadline = Date.now() + 10_000;
    while (!received.includes('"ADDED"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(received, /"ADDED"/);
    await h.kube?.stopApiServer({ kill: true });
    await ended;
    const watchEnd = await eventsWhere(
      h,
      (e) =>
        e.event.action === 'kubernetes.watch' &&
        e.agentgate.kubernetes?.resource === 'deployments' &&
        ['completed', 'failed'].includes(e.agentgate.action.phase),
    );
    assert.equal(watchEnd.length, 1, 'the watch has its ending on the record');
    const down = await raw('GET', '/cluster/api/v1/namespaces');
    assert.equal(down.status, 502);
    assert.equal(status(down).details?.causes?.[0]?.reason, 'ERR_UPSTREAM_UNREACHABLE');
    const failed = await eventsWhere(h, (e) => e.agentgate.action.phase === 'failed' && e.agentgate.kubernetes?.resource === 'namespaces');
    assert.ok(failed.length >= 1);
    await h.kube?.startApiServer();
    const back = await raw('GET', '/cluster/api/v1/namespaces');
    assert.equal(back.status, 200, back.body.slice(0, 200));
    await h.assertNoLeak();
  });
});
