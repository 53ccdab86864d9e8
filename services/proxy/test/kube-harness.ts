import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { join } from 'node:path';
import type { Bus } from '@agentgate/bus';
import { type Config, loadConfig } from '@agentgate/config';
import type { AuditEvent } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import {
  type CiIssuer,
  githubClaims,
  type KubeCluster,
  type KubectlResult,
  kubeBinaries,
  kubectlPath,
  type NatsServer,
  runKubectl,
  startCiIssuer,
  startKube,
  startNats,
  tempDir,
} from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { type Backends, startBackends } from './backends.js';
import { assertNoSecret, auditEvents } from './harness.js';
import { type ExecDouble, startExecDouble } from './kube-exec-double.js';

/**
 * The whole path for Kubernetes, all real where a real part can run:
 * nats-server, identity with a CI issuer, the secret broker, the proxy, a
 * kube-apiserver + etcd (when `cluster`), and the kubectl built with them.
 * The gateway's credential is the token of `agentgate-gw`, a user that may
 * only impersonate; agents get rights through their impersonated group
 * (`agentgate:acme-ci`). Every byte a gateway kubectl run printed is kept
 * for the credential scan.
 */
export interface KubeHarness {
  nats: NatsServer;
  bus: Bus;
  issuer: CiIssuer;
  backends: Backends;
  proxy: ProxyHandle;
  config: Config;
  kube: KubeCluster | undefined;
  double: ExecDouble | undefined;
  /** The gateway's cluster credential: no client may ever see it. */
  secret: string;
  /** CI token of acme/app (group acme-ci). */
  token: string;
  /** acme/ops: an approver. */
  approverToken: string;
  /** acme/release: may read Secrets in clear. */
  releaseToken: string;
  /** other/app: in no group. */
  outsiderToken: string;
  dir: string;
  /** stdout+stderr of every kubectl run through the gateway. */
  clientBytes: string[];
  /** `https://127.0.0.1:<port>`: a TLS front of the gateway (kubectl sends no token over plain http), as an ingress would be. */
  gatewayTlsUrl: string;
  /** The TLS front's certificate (the kubeconfig's certificate-authority). */
  gatewayCaFile: string;
  /** A kubeconfig whose server is the gateway's `/<connection>` (through the TLS front) and whose token is `token`. */
  gatewayKubeconfig(connection: string, token?: string): string;
  /** kubectl through the gateway (`-v=9`: request and response dumps land in `clientBytes` too). */
  kubectl(args: string[], o?: { connection?: string; token?: string; input?: string; timeoutMs?: number; verbose?: boolean }): Promise<KubectlResult>;
  /** kubectl straight to the API server as admin. */
  admin(args: string[], input?: string): Promise<KubectlResult>;
  /** Starts a long-running kubectl through the gateway (a watch); output accumulates in `out`. */
  spawnKubectl(args: string[], connection?: string): { out: () => string; stop: () => Promise<number | null> };
  events(): Promise<AuditEvent[]>;
  /** Throws when the credential (in any encoding) is in any byte a client saw or in any event. */
  assertNoLeak(): Promise<void>;
  close(): Promise<void>;
}

export interface KubeHarnessOptions {
  cluster?: boolean;
  double?: boolean;
  /** Extra YAML under `connections:` (indented by 2). */
  extraConnections?: (h: { kube: KubeCluster | undefined; double: ExecDouble | undefined; dir: string }) => string;
  /** Extra secrets (YAML list items, indented by 2) and their env values. */
  extraSecrets?: string;
  extraEnv?: Record<string, string>;
  /** kube-apiserver --client-ca-file. */
  clientCaFile?: string;
  maxBodyBytes?: number;
}

export const POLICY = `
policy:
  default: deny
  rules:
    - { name: only-acme, actions: ['kubernetes.*'], when: "!('acme-ci' in principal.groups)", decision: deny, reason: only acme pipelines may use the cluster }
    - { name: no-delete-prod, actions: [kubernetes.delete], when: "attrs.namespace == 'prod' && attrs.mutating", decision: deny, reason: nothing is deleted in prod }
    - { name: review-scale-to-zero, actions: [kubernetes.scale_to_zero], when: attrs.protectedNamespace, decision: review, reason: scaling a protected workload to zero needs a human }
    - { name: no-exec-prod, actions: [kubernetes.exec, kubernetes.attach, kubernetes.portforward], when: "attrs.namespace == 'prod'", decision: deny, reason: no shell in prod pods }
    - { name: exec-review, actions: [kubernetes.exec], when: "attrs.namespace == 'staging'", decision: review }
    - { name: release-reads-secrets, actions: [kubernetes.secret_read.clear], when: "principal.ci.repository == 'acme/release'", decision: allow }
    - { name: kube-allowed, actions: ['kubernetes.*'], decision: allow }
`;

/** RBAC of the test cluster: the gateway may impersonate; agents (impersonated group agentgate:acme-ci) are cluster admins. */
const RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: agentgate-impersonator }
rules:
- apiGroups: [""]
  resources: [users, groups]
  verbs: [impersonate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: agentgate-impersonator }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agentgate-impersonator }
subjects:
- { kind: User, apiGroup: rbac.authorization.k8s.io, name: agentgate-gw }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: agentgate-agents }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }
subjects:
- { kind: Group, apiGroup: rbac.authorization.k8s.io, name: "agentgate:acme-ci" }
`;

export async function startKubeHarness(opts: KubeHarnessOptions = {}): Promise<KubeHarness> {
  // Token-file safe (no comma or quote), but characters URL and base64 encodings change.
  const secret = `gw_${randomBytes(18).toString('base64url')}_${randomBytes(6).toString('hex')}`;
  const tmp = tempDir('proxy-kube');
  const dir = tmp.path;
  // Fail at once, with the install hint, when a binary is missing.
  if (opts.cluster) kubeBinaries();
  else kubectlPath();
  const kube = opts.cluster
    ? await startKube({ users: [{ name: 'agentgate-gw', token: secret }], ...(opts.clientCaFile && { clientCaFile: opts.clientCaFile }) })
    : undefined;
  const double = opts.double ? await startExecDouble(`Bearer ${secret}`) : undefined;
  if (kube) {
    const r = await kube.kubectl(kube.writeKubeconfig('admin'), ['apply', '-f', '-'], { input: RBAC });
    if (r.code !== 0) throw new Error(`RBAC setup failed: ${r.stderr}`);
  }
  const nats = await startNats();
  const issuer = await startCiIssuer({ alg: 'RS256' });
  const connections = [
    kube &&
      `  - name: cluster
    type: kubernetes
    upstream: ${kube.url}
    credential: { ref: kube-token, inject: bearer }
    options:
      caFile: ${kube.caFile}
      impersonate: { enabled: true }
      protectedNamespaces: [prod, 'prod-*']`,
    double &&
      `  - name: pods
    type: kubernetes
    upstream: ${double.url}
    credential: { ref: kube-token, inject: bearer }
    options:
      sessionRecordBytes: 4096`,
    opts.extraConnections?.({ kube, double, dir }),
  ]
    .filter(Boolean)
    .join('\n');
  const text = `
gateway:
  name: kube-gateway
  limits: { maxBodyBytes: ${opts.maxBodyBytes ?? 4 * 1024 * 1024}, requestTimeoutMs: 60000 }
approvals:
  timeoutMs: 30000
  approverGroups: [approvers]
identity:
  issuers:
    - { name: gh, issuer: ${issuer.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
  groups:
    - { name: acme-ci, when: { repository_owner: acme } }
    - { name: approvers, when: { repository: acme/ops } }
connections:
${connections}
secrets:
  - { ref: kube-token, source: env, env: KUBE_TEST_TOKEN }
${opts.extraSecrets ?? ''}
${POLICY}`;
  const config = loadConfig({ text, env: {} });
  const backends = await startBackends({ natsUrl: nats.url, name: 'proxy-kube-test' }, config, { KUBE_TEST_TOKEN: secret, ...opts.extraEnv });
  const logger = createLogger({ name: 'proxy', level: 'warn', destination: { write: () => {} } });
  const proxy = await startProxy(backends.bus, config, logger, { host: '127.0.0.1', port: 0 });
  const token = await issuer.mint(githubClaims({ repository: 'acme/app' }));
  // Four eyes compares the human too: the approver is another actor.
  const approverToken = await issuer.mint(githubClaims({ repository: 'acme/ops', run_id: '7000000777', actor: 'release-manager', actor_id: '700001' }));
  const releaseToken = await issuer.mint(githubClaims({ repository: 'acme/release', run_id: '7000000999' }));
  const outsiderToken = await issuer.mint(githubClaims({ repository: 'other/app', run_id: '7000000888' }));
  const front = await startTlsFront(dir, proxy.port);
  const cacheDir = join(dir, 'kubectl-cache');
  mkdirSync(cacheDir);
  const clientBytes: string[] = [];

  const gatewayKubeconfig = (connection: string, tok = token): string => {
    const path = join(dir, `gw-${connection}-${randomBytes(4).toString('hex')}.kubeconfig`);
    writeFileSync(
      path,
      `apiVersion: v1
kind: Config
clusters:
- name: gw
  cluster: { server: "${front.url}/${connection}", certificate-authority: "${front.caFile}" }
users:
- name: agent
  user: { token: "${tok}" }
contexts:
- name: gw
  context: { cluster: gw, user: agent, namespace: default }
current-context: gw
`,
      { mode: 0o600 },
    );
    return path;
  };
  const configs = new Map<string, string>();
  const kubeconfigFor = (connection: string, tok: string): string => {
    const key = `${connection}\u0000${tok}`;
    let path = configs.get(key);
    if (!path) {
      path = gatewayKubeconfig(connection, tok);
      configs.set(key, path);
    }
    return path;
  };
  return {
    nats,
    bus: backends.bus,
    issuer,
    backends,
    proxy,
    config,
    kube,
    double,
    secret,
    token,
    approverToken,
    releaseToken,
    outsiderToken,
    dir,
    clientBytes,
    gatewayTlsUrl: front.url,
    gatewayCaFile: front.caFile,
    gatewayKubeconfig,
    async kubectl(args, o = {}) {
      const kc = kubeconfigFor(o.connection ?? 'cluster', o.token ?? token);
      const r = await runKubectl(kc, [...(o.verbose === false ? [] : ['-v=9']), ...args], {
        cacheDir,
        home: dir,
        ...(o.input !== undefined && { input: o.input }),
        ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
      });
      clientBytes.push(r.stdout, r.stderr);
      return r;
    },
    async admin(args, input) {
      if (!kube) throw new Error('no cluster in this harness');
      return kube.kubectl(kube.writeKubeconfig('admin'), args, input === undefined ? {} : { input });
    },
    spawnKubectl(args, connection = 'cluster') {
      const kc = kubeconfigFor(connection, token);
      const child = spawn(kubectlPath(), ['--kubeconfig', kc, '--cache-dir', cacheDir, ...args], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        out += c.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return {
        out: () => out,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGINT');
          const code = await exited;
          clientBytes.push(out);
          return code;
        },
      };
    },
    events: () => auditEvents(backends.bus),
    async assertNoLeak() {
      for (const [i, b] of clientBytes.entries()) assertNoSecret(b, secret, `kubectl output #${i}`);
      for (const ev of await auditEvents(backends.bus)) assertNoSecret(JSON.stringify(ev), secret, `event ${ev.event.action}/${ev.agentgate.action.phase}`);
    },
    async close() {
      await front.close();
      await proxy.close();
      await backends.stop();
      await issuer.close();
      await nats.close();
      await double?.close();
      await kube?.close();
      tmp.cleanup();
    },
  };
}

/**
 * A TLS-terminating front of the gateway (what an ingress or load balancer
 * is in production): kubectl sends no bearer token to a plain-http server.
 * Bytes are piped both ways, so WebSocket upgrades pass too.
 */
async function startTlsFront(dir: string, port: number): Promise<{ url: string; caFile: string; close(): Promise<void> }> {
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'front.key',
      '-out',
      'front.crt',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { cwd: dir, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  const server: TlsServer = createTlsServer({ key: readFileSync(join(dir, 'front.key')), cert: readFileSync(join(dir, 'front.crt')) }, (sock) => {
    const up = connect(port, '127.0.0.1');
    sock.pipe(up).pipe(sock);
    sock.on('error', () => up.destroy());
    up.on('error', () => sock.destroy());
    sock.on('close', () => up.destroy());
    up.on('close', () => sock.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: p } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${p}`,
    caFile: join(dir, 'front.crt'),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Events of the calls matching `pred`, waiting (up to 5 s) until at least `min` are stored. */
export async function eventsWhere(h: KubeHarness, pred: (e: AuditEvent) => boolean, min = 1): Promise<AuditEvent[]> {
  const deadline = Date.now() + 5000;
  let found: AuditEvent[] = [];
  while (Date.now() < deadline) {
    found = (await h.events()).filter(pred);
    if (found.length >= min) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  return found;
}
