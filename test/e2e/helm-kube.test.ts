import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '@agentgate/testkit';
import { parseAllDocuments, stringify } from 'yaml';

/**
 * The Helm chart against a real kube-apiserver (v1.37, with etcd; no kubelet, so nothing runs):
 * every rendered object passes server-side dry-run in a namespace that enforces the "restricted"
 * Pod Security level, and a Pod made from each Deployment's template is admitted there.
 *
 * The launcher is local to this file because the testkit's `startKube` lives on the kubernetes
 * branch; switch to it once that lands (same binaries, same AGENTGATE_KUBE_DIR).
 */

const ROOT = resolve(import.meta.dirname, '../..');
const KUBE_DIR = join(process.env.AGENTGATE_KUBE_DIR ?? '/opt/agentgate-kube', 'v1.37.2');
const HINT = 'build kube-apiserver, kubectl and etcd once with `bash .ci/install-kube.sh` (kubernetes branch; docs: kubernetes-apiserver.md)';
const NS = 'agentgate';
const work = mkdtempSync(join(tmpdir(), 'agentgate-helm-kube-'));
const children: ChildProcess[] = [];
let kubeconfig = '';

function binary(name: string): string {
  const path = join(KUBE_DIR, name);
  if (!existsSync(path)) assert.fail(`${path} not found: ${HINT}`);
  return path;
}

function start(command: string, args: string[], log: string): void {
  const out = openSync(join(work, log), 'a');
  const child = spawn(command, args, { cwd: work, stdio: ['ignore', out, out] });
  children.push(child);
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs: number, log: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > until) assert.fail(`${what} within ${timeoutMs / 1000} s:\n${readFileSync(join(work, log), 'utf8').slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function readyz(url: string, ca: Buffer, token: string): Promise<boolean> {
  return new Promise((resolveReady) => {
    const req = request(`${url}/readyz`, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      res.resume();
      resolveReady(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveReady(false));
    req.end();
  });
}

function kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = execFile(
      binary('kubectl'),
      ['--kubeconfig', kubeconfig, '--cache-dir', join(work, 'kube-cache'), ...args],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** `helm template ag deploy/helm/agentgate --namespace agentgate [args]`. */
function render(args: string[]): string {
  return execFileSync('helm', ['template', 'ag', join(ROOT, 'deploy/helm/agentgate'), '--namespace', NS, ...args], { encoding: 'utf8' });
}

before(async () => {
  const [etcd, apiserver] = [binary('etcd'), binary('kube-apiserver')];
  binary('kubectl');
  const [etcdPort, peerPort, metricsPort, port] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(work, 'tokens.csv'), `${token},admin,uid-0,"system:masters"\n`, { mode: 0o600 });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(work, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(work, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  mkdirSync(join(work, 'pki'));
  const peer = `http://127.0.0.1:${peerPort}`;
  start(
    etcd,
    [
      '--name',
      'agentgate-test',
      '--data-dir',
      join(work, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `agentgate-test=${peer}`,
      '--listen-metrics-urls',
      `http://127.0.0.1:${metricsPort}`,
      '--unsafe-no-fsync',
    ],
    'etcd.log',
  );
  await waitFor('etcd is healthy', async () => (await fetch(`http://127.0.0.1:${metricsPort}/health`)).status === 200, 60_000, 'etcd.log');
  start(
    apiserver,
    [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(work, 'pki')}`,
      `--token-auth-file=${join(work, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(work, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(work, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16',
    ],
    'kube-apiserver.log',
  );
  const url = `https://127.0.0.1:${port}`;
  const caFile = join(work, 'pki', 'apiserver.crt');
  await waitFor('kube-apiserver is ready', async () => existsSync(caFile) && (await readyz(url, readFileSync(caFile), token)), 180_000, 'kube-apiserver.log');
  kubeconfig = join(work, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'test',
      clusters: [{ name: 'test', cluster: { server: url, 'certificate-authority': caFile } }],
      users: [{ name: 'admin', user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin', namespace: NS } }],
    }),
    { mode: 0o600 },
  );
  // The namespace enforces (and warns about) the restricted level, as a production namespace should.
  const ns = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: NS, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' } },
  };
  const created = await kubectl(['apply', '-f', '-'], JSON.stringify(ns));
  assert.equal(created.code, 0, created.stderr);
});

after(async () => {
  // The API server first, then etcd; each waited for, so none outlives the test.
  for (const c of children.reverse()) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(work, { recursive: true, force: true });
});

/** Pods from the Deployments' templates: Pod Security enforces on Pods only (Deployments just warn). */
function podsOf(manifests: string): Array<Record<string, unknown>> {
  type Deployment = { kind?: string; metadata: { name: string }; spec: { template: { metadata: Record<string, unknown>; spec: Record<string, unknown> } } };
  return parseAllDocuments(manifests)
    .map((d) => d.toJS() as Deployment | null)
    .filter((d): d is Deployment => d?.kind === 'Deployment')
    .map((d) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...d.spec.template.metadata, name: `${d.metadata.name}-probe`, namespace: NS },
      spec: d.spec.template.spec,
    }));
}

describe('helm chart on a real kube-apiserver', () => {
  // [what, helm args, Deployments (pods) it renders]
  const variants: Array<[string, string[], number]> = [
    ['defaults', [], 5],
    [
      'TLS to NATS and the index, broker secrets',
      [
        '--set',
        'nats.url=tls://nats:4222',
        '--set',
        'nats.tls.secretName=nats-tls',
        '--set',
        'nats.tls.clientCert=true',
        '--set',
        'index.url=https://os:9200',
        '--set',
        'index.username=agentgate',
        '--set',
        'index.passwordSecret=os-pw',
        '--set',
        'index.caSecret=os-ca',
        '--set',
        'brokerSecrets[0].name=github-token',
        '--set',
        'brokerSecrets[0].secretName=gh',
      ],
      5,
    ],
    [
      'scaled out: 3 writer partitions, NATS R1, 4 proxies',
      ['--set', 'auditWriter.partitions=3', '--set', 'nats.replicas=1', '--set', 'services.proxy.replicas=4'],
      7,
    ],
  ];
  for (const [what, args, deployments] of variants) {
    it(`helm on kube - ${what}: server-side dry-run accepts every object with no Pod Security warning, and each Deployment's pod is admitted under restricted`, async () => {
      const manifests = render(args);
      const dry = await kubectl(['apply', '--dry-run=server', '-f', '-'], manifests);
      assert.equal(dry.code, 0, dry.stderr);
      assert.doesNotMatch(dry.stderr, /PodSecurity|[Ww]arning/, dry.stderr);
      for (const kind of [
        'deployment.apps/ag-proxy',
        'networkpolicy.networking.k8s.io/ag-proxy',
        'poddisruptionbudget.policy/ag-audit-writer',
        'serviceaccount/ag-agentgate',
        'configmap/ag-nats-authorization',
        'service/ag-proxy',
      ]) {
        // The ServiceAccount exists after the first variant (created below): unchanged then.
        assert.match(dry.stdout, new RegExp(`${kind} (created|unchanged) \\(server dry run\\)`), dry.stdout);
      }
      // The ServiceAccount admission plugin wants the pods' account to exist: create it for real (nothing else is).
      const sa = parseAllDocuments(manifests)
        .map((d) => d.toJS() as { kind?: string } | null)
        .find((d) => d?.kind === 'ServiceAccount');
      assert.equal((await kubectl(['apply', '-f', '-'], JSON.stringify(sa))).code, 0);
      const pods = podsOf(manifests);
      assert.equal(pods.length, deployments);
      for (const pod of pods) {
        const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
        assert.equal(r.code, 0, `${(pod.metadata as { name: string }).name}: ${r.stderr}`);
      }
    });
  }

  it('helm on kube - not vacuous: a pod template without the seccomp profile is refused by the namespace', async () => {
    const [pod] = podsOf(render([]));
    assert.ok(pod);
    const spec = pod.spec as { securityContext: Record<string, unknown>; containers: Array<{ securityContext: Record<string, unknown> }> };
    delete spec.securityContext['seccompProfile'];
    for (const c of spec.containers) delete c.securityContext['seccompProfile'];
    const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /violates PodSecurity "restricted:latest".*seccompProfile/);
  });
});
