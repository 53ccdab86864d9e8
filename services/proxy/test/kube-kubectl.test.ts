import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '@agentgate/events';
import { runKubectl } from '@agentgate/testkit';
import { call, pendingId, wait } from './approvals-harness.js';
import { eventsWhere, type KubeHarness, startKubeHarness } from './kube-harness.js';

// The acceptance run: the real kubectl v1.37 through the gateway to a real
// kube-apiserver v1.37 + etcd (one API server for this file).
let h: KubeHarness;
before(async () => {
  h = await startKubeHarness({ cluster: true });
});
after(async () => {
  await h?.close();
});

const SECRET_VALUE = 'correct-horse-battery-staple-42';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const kubeOf = (e: AuditEvent | undefined) => e?.agentgate.kubernetes;

async function replicas(ns: string, name: string): Promise<number> {
  const r = await h.admin(['get', 'deployment', name, '-n', ns, '-o', 'jsonpath={.spec.replicas}']);
  assert.equal(r.code, 0, r.stderr);
  return Number(r.stdout);
}

describe('kubernetes kubectl', () => {
  it('kubernetes - kubectl creates namespaces and deployments, applies server-side and scales to 3 through the gateway', async () => {
    for (const ns of ['dev', 'prod']) {
      const r = await h.kubectl(['create', 'namespace', ns]);
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      assert.match(r.stdout, new RegExp(`namespace/${ns} created`));
    }
    const c = await h.kubectl(['create', 'deployment', 'web', '--image=nginx', '-n', 'dev']);
    assert.equal(c.code, 0, c.stderr.slice(-2000));
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: prod }
spec:
  replicas: 2
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec: { containers: [{ name: api, image: nginx }] }
`;
    const a = await h.kubectl(['apply', '--server-side', '--field-manager=agent', '-f', '-'], { input: manifest });
    assert.equal(a.code, 0, a.stderr.slice(-2000));
    assert.match(a.stdout, /deployment.apps\/api serverside-applied/);
    const s = await h.kubectl(['scale', '--replicas=3', 'deployment/web', '-n', 'dev']);
    assert.equal(s.code, 0, s.stderr.slice(-2000));
    assert.equal(await replicas('dev', 'web'), 3);
    assert.equal(await replicas('prod', 'api'), 2);

    const applied = await eventsWhere(h, (e) => kubeOf(e)?.patch_type === 'apply' && e.agentgate.action.phase === 'completed');
    assert.equal(kubeOf(applied[0])?.name, 'api');
    assert.equal(applied[0]?.agentgate.action.attributes?.['apply'], true);
    assert.equal(applied[0]?.agentgate.action.attributes?.['fieldManager'], 'agent');
    const scaled = await eventsWhere(
      h,
      (e) => e.event.action === 'kubernetes.patch' && kubeOf(e)?.subresource === 'scale' && e.agentgate.action.phase === 'completed',
    );
    assert.equal(kubeOf(scaled[0])?.replicas, 3);
    assert.equal(kubeOf(scaled[0])?.namespace, 'dev');
    // The cluster saw the agent, not the gateway: the object's manager is the impersonated user.
    const mf = await h.admin(['get', 'deployment', 'web', '-n', 'dev', '-o', 'jsonpath={.metadata.managedFields[*].manager}']);
    assert.match(mf.stdout, /kubectl/);
  });

  it('kubernetes - get --watch streams events through the gateway as they happen', async () => {
    const watch = h.spawnKubectl(['get', 'deployments', '-n', 'dev', '--watch', '-o', 'name']);
    const until = async (re: RegExp) => {
      const deadline = Date.now() + 20_000;
      while (!re.test(watch.out()) && Date.now() < deadline) await wait(100);
      assert.match(watch.out(), re);
    };
    await until(/deployment\.apps\/web/);
    const c = await h.kubectl(['create', 'deployment', 'web2', '--image=nginx', '-n', 'dev'], { verbose: false });
    assert.equal(c.code, 0, c.stderr);
    await until(/deployment\.apps\/web2/);
    await watch.stop();
    const watched = await eventsWhere(h, (e) => e.event.action === 'kubernetes.watch' && kubeOf(e)?.resource === 'deployments');
    assert.ok(watched.length >= 1, 'the watch is on the record');
  });

  it('kubernetes - scale --replicas=0 in a protected namespace is held until an approver approves it', async () => {
    const held = h.kubectl(['scale', '--replicas=0', 'deployment/api', '-n', 'prod'], { timeoutMs: 40_000 });
    const id = await pendingId(h.proxy.url, h.approverToken, 20_000);
    await wait(300);
    assert.equal(await replicas('prod', 'api'), 2, 'nothing reaches the cluster while held');
    const shown = await call(h.proxy.url, 'GET', `/_agentgate/approvals/${id}`, h.approverToken);
    const rec = shown.json.approval as { rule: string; binding: { kind: string; attributes: Record<string, unknown> } };
    assert.equal(rec.binding.kind, 'kubernetes.scale_to_zero');
    assert.equal(rec.rule, 'review-scale-to-zero');
    assert.equal(rec.binding.attributes['namespace'], 'prod');
    const ok = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, h.approverToken, { reason: 'maintenance window' });
    assert.equal(ok.status, 200, ok.text);
    const r = await held;
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.equal(await replicas('prod', 'api'), 0);
    const phases = (await eventsWhere(h, (e) => e.agentgate.action.id === id && e.agentgate.action.phase === 'completed')).length;
    assert.equal(phases, 1);
    const all = (await h.events()).filter((e) => e.agentgate.action.id === id).map((e) => e.agentgate.action.phase);
    assert.deepEqual(all, ['held', 'approved', 'requested', 'completed']);
    await h.admin(['scale', '--replicas=2', 'deployment/api', '-n', 'prod']);
  });

  it('kubernetes - delete deployment in prod is denied with the rule in kubectl output; the object stays', async () => {
    const r = await h.kubectl(['delete', 'deployment', 'api', '-n', 'prod']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(Forbidden\)/);
    assert.match(r.stderr, /no-delete-prod/);
    assert.match(r.stderr, /nothing is deleted in prod/);
    assert.equal(await replicas('prod', 'api'), 2, 'still there');
    const denied = await eventsWhere(h, (e) => e.agentgate.action.phase === 'denied' && kubeOf(e)?.verb === 'delete' && kubeOf(e)?.name === 'api');
    assert.deepEqual(
      { verb: kubeOf(denied[0])?.verb, resource: kubeOf(denied[0])?.resource, namespace: kubeOf(denied[0])?.namespace, name: kubeOf(denied[0])?.name },
      { verb: 'delete', resource: 'deployments', namespace: 'prod', name: 'api' },
    );
    assert.equal(denied[0]?.rule?.name, 'no-delete-prod');
    assert.equal(denied[0]?.event.outcome, 'failure');
    // Deleting the namespace itself is a delete in prod too.
    const ns = await h.kubectl(['delete', 'namespace', 'prod', '--wait=false']);
    assert.notEqual(ns.code, 0);
    assert.match(ns.stderr, /no-delete-prod/);
  });

  it('kubernetes - --dry-run=server of the denied delete is allowed and recorded as dry-run', async () => {
    const r = await h.kubectl(['delete', 'deployment', 'api', '-n', 'prod', '--dry-run=server']);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match(r.stdout, /deleted.*\(server dry run\)/);
    assert.equal(await replicas('prod', 'api'), 2);
    const done = await eventsWhere(h, (e) => e.agentgate.action.phase === 'completed' && kubeOf(e)?.verb === 'delete' && kubeOf(e)?.dry_run === true);
    assert.equal(kubeOf(done[0])?.namespace, 'prod');
    assert.equal(done[0]?.agentgate.action.attributes?.['mutating'], false);
    assert.equal(done[0]?.rule?.name, 'kube-allowed');
  });

  it('kubernetes - get secret -o yaml shows masked values; only a rule naming the clear read shows them', async () => {
    const c = await h.kubectl(['create', 'secret', 'generic', 'db', '-n', 'dev', `--from-literal=password=${SECRET_VALUE}`]);
    assert.equal(c.code, 0, c.stderr.slice(-2000));
    const y = await h.kubectl(['get', 'secret', 'db', '-n', 'dev', '-o', 'yaml']);
    assert.equal(y.code, 0, y.stderr.slice(-2000));
    assert.match(y.stdout, /password: /);
    assert.ok(y.stdout.includes(b64('[REDACTED:kubernetes-secret]')), y.stdout);
    for (const r of [c, y])
      assert.ok(
        !`${r.stdout}${r.stderr}`.includes(b64(SECRET_VALUE)) && !`${r.stdout}${r.stderr}`.includes(SECRET_VALUE),
        'no value in any byte, -v=9 dumps included',
      );
    const list = await h.kubectl(['get', 'secrets', '-n', 'dev', '-o', 'json']);
    assert.ok(!list.stdout.includes(b64(SECRET_VALUE)));
    const direct = await h.admin(['get', 'secret', 'db', '-n', 'dev', '-o', 'jsonpath={.data.password}']);
    assert.equal(direct.stdout, b64(SECRET_VALUE), 'the cluster holds the real value');
    const clear = await h.kubectl(['get', 'secret', 'db', '-n', 'dev', '-o', 'jsonpath={.data.password}'], { token: h.releaseToken, verbose: false });
    assert.equal(clear.stdout, b64(SECRET_VALUE), 'acme/release may read it in clear (rule release-reads-secrets)');
    const reads = await eventsWhere(h, (e) => e.event.action === 'kubernetes.secret_read' && e.agentgate.action.phase === 'completed', 3);
    assert.ok(reads.some((e) => (kubeOf(e)?.masked_values ?? 0) >= 1));
    assert.ok(reads.some((e) => e.agentgate.action.attributes?.['secretsInClear'] === true));
  });

  it('kubernetes - auth can-i and whoami work; a client --as is stripped, never passed on', async () => {
    const yes = await h.kubectl(['auth', 'can-i', 'create', 'deployments', '-n', 'dev']);
    assert.equal(yes.stdout.trim(), 'yes', yes.stderr.slice(-1000));
    const who = await h.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { verbose: false });
    assert.equal(who.stdout, 'agentgate:repo:acme/app:ref:refs/heads/main');
    const as = await h.kubectl(['auth', 'whoami', '--as=system:admin', '--as-group=system:masters', '-o', 'jsonpath={.status.userInfo.username}'], {
      verbose: false,
    });
    assert.equal(as.stdout, 'agentgate:repo:acme/app:ref:refs/heads/main', 'impersonation by the client is stripped');
    const review = await eventsWhere(h, (e) => kubeOf(e)?.resource === 'selfsubjectaccessreviews' && e.agentgate.action.phase === 'completed');
    assert.equal(review[0]?.event.action, 'kubernetes.get', 'a self-review is a read');
    assert.equal(kubeOf(review[0])?.impersonated_user, 'agentgate:repo:acme/app:ref:refs/heads/main');
    const outsider = await h.kubectl(['get', 'pods', '-n', 'dev'], { token: h.outsiderToken });
    assert.notEqual(outsider.code, 0);
    assert.match(outsider.stderr, /Forbidden/);
    assert.match(outsider.stderr, /only-acme/);
  });

  it('kubernetes - a paginated list (limit/continue) works through the masking path', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await h.kubectl(['create', 'configmap', `cm-${i}`, '-n', 'dev', `--from-literal=k=v${i}`], { verbose: false });
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await h.kubectl(['get', 'configmaps', '-n', 'dev', '--chunk-size=2', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    for (let i = 0; i < 5; i++) assert.match(r.stdout, new RegExp(`configmap/cm-${i}`));
    assert.match(r.stderr, /limit=2/);
    assert.match(r.stderr, /continue=/);
    const pages = await eventsWhere(
      h,
      (e) => e.event.action === 'kubernetes.list' && kubeOf(e)?.resource === 'configmaps' && e.agentgate.action.phase === 'completed',
      3,
    );
    assert.ok(pages.length >= 3, `three pages of two: ${pages.length}`);
  });

  it('kubernetes - the kubeconfig `agentgate kubeconfig` prints works: its exec plugin presents the CI token from a file', async () => {
    const repo = resolve(import.meta.dirname, '../../..');
    const cli = ['--conditions=agentgate-source', '--import', 'tsx', join(repo, 'packages/cli/src/bin.ts')];
    const tokenFile = join(h.dir, 'ci-token');
    writeFileSync(tokenFile, `${h.token}\n`, { mode: 0o600 });
    const printed = spawnSync(
      process.execPath,
      [
        ...cli,
        'kubeconfig',
        '--connection',
        'cluster',
        '--gateway',
        h.gatewayTlsUrl,
        '--certificate-authority',
        h.gatewayCaFile,
        '--token-file',
        tokenFile,
        '--namespace',
        'dev',
        `--exec-command=${process.execPath}`,
        ...cli.map((a) => `--exec-arg=${a}`),
      ],
      { cwd: repo, encoding: 'utf8' },
    );
    assert.equal(printed.status, 0, printed.stderr);
    assert.ok(!printed.stdout.includes(h.token), 'the kubeconfig holds no token, only the plugin');
    const kc = join(h.dir, 'agentgate.kubeconfig');
    writeFileSync(kc, printed.stdout, { mode: 0o600 });
    const r = await runKubectl(kc, ['get', 'deployments', '-o', 'name'], {
      cacheDir: join(h.dir, 'plugin-cache'),
      home: h.dir,
      env: { PATH: process.env.PATH ?? '' },
    });
    h.clientBytes.push(r.stdout, r.stderr);
    assert.equal(r.code, 0, r.stderr.slice(-1500));
    assert.match(r.stdout, /deployment.apps\/web/);
  });

  it('kubernetes - every call has its events (verb, resource, namespace, name, outcome); the credential is in no byte kubectl saw and no event', async () => {
    const events = await h.events();
    const calls = new Map<string, AuditEvent[]>();
    for (const e of events) calls.set(e.agentgate.action.id, [...(calls.get(e.agentgate.action.id) ?? []), e]);
    assert.ok(calls.size > 20);
    for (const [, evs] of calls) {
      const phases = evs.map((e) => e.agentgate.action.phase);
      const last = evs.at(-1);
      assert.ok(['completed', 'denied', 'failed'].includes(last?.agentgate.action.phase ?? ''), `each call ends on the record: ${phases.join(',')}`);
      assert.ok(last?.event.outcome === 'success' || last?.event.outcome === 'failure', `an outcome: ${last?.event.outcome}`);
      const k = kubeOf(last);
      assert.ok(k?.verb, 'a verb');
      if (!k?.path) assert.ok(k?.resource, 'a resource');
    }
    await h.assertNoLeak();
  });
});
