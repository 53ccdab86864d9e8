import { execFile, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { TestkitError } from './errors.js';
import { selfSignedCertArgs } from './lib/openssl.js';
import { freePort } from './free-port.js';
import { launchAndWait } from './lib/launch.js';
import { Restartable, firstStart } from './lib/restartable.js';
import { requireBinary } from './require-binary.js';
import { tempDir } from './temp-dir.js';

/** The versions `.ci/install-kube.sh` builds; binaries live in `$AGENTGATE_KUBE_DIR/<version>/` (default /opt/agentgate-kube). */
export const KUBE_VERSION = 'v1.37.2';
const INSTALL_HINT = 'build them once with `bash .ci/install-kube.sh` (kube-apiserver, kubectl and etcd from the Go module proxy; ~15 min on 2 cores)';

/** A user of the static token file. */
export interface KubeUser {
  name: string;
  groups?: string[];
  /** Default: random. */
  token?: string;
}

/** Options of startKube. */
export interface StartKubeOptions {
  /** Users besides `admin` (in system:masters). */
  users?: KubeUser[];
  /** Also trust client certificates signed by this CA (PEM file): `--client-ca-file`. */
  clientCaFile?: string;
  /** Extra kube-apiserver flags. */
  args?: string[];
  /** Default 120 s (the API server needs ~3 s on an idle machine, far more on a loaded one). */
  startTimeoutMs?: number;
}

/** A real etcd + kube-apiserver on loopback, RBAC on, users from a static token file. */
export interface KubeCluster {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The API server's certificate (its self-signed CA included): verify it with this. */
  readonly caFile: string;
  /** Token of `admin` (system:masters). */
  readonly adminToken: string;
  /** Token of each user by name (admin included). */
  readonly tokens: Readonly<Record<string, string>>;
  /** The kubectl built with the API server. */
  readonly kubectlPath: string;
  readonly dir: string;
  /** Writes a kubeconfig for `server` (default: the API server itself) with a token user; returns its path. */
  writeKubeconfig(name: string, opts?: { server?: string; token?: string; caFile?: string | null }): string;
  /** Runs kubectl with a kubeconfig (its own cache dir; never the developer's ~/.kube). */
  kubectl(kubeconfig: string, args: string[], opts?: { input?: string; timeoutMs?: number; env?: Record<string, string> }): Promise<KubectlResult>;
  /** Stops the API server (SIGTERM, or SIGKILL as a crash with `kill`); etcd keeps running; `startApiServer` brings it back on the same port. */
  stopApiServer(opts?: { kill?: boolean }): Promise<void>;
  startApiServer(): Promise<void>;
  /** Stops both and removes the temp dir. */
  close(): Promise<void>;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

function kubeBinary(name: 'kube-apiserver' | 'kubectl' | 'etcd'): string {
  const dir = join(process.env.AGENTGATE_KUBE_DIR ?? '/opt/agentgate-kube', KUBE_VERSION);
  const path = join(dir, name);
  return requireBinary(existsSync(path) ? path : name, `${name} ${name === 'etcd' ? 'v3.7.3' : KUBE_VERSION} not found in ${dir}: ${INSTALL_HINT}`);
}

/** Path of the kubectl built by .ci/install-kube.sh (enough for tests against a double). */
export function kubectlPath(): string {
  return kubeBinary('kubectl');
}

/** Paths of kube-apiserver, kubectl and etcd; throws ERR_BINARY_MISSING with the install command when one is absent. */
export function kubeBinaries(): { apiserver: string; kubectl: string; etcd: string } {
  return { apiserver: kubeBinary('kube-apiserver'), kubectl: kubeBinary('kubectl'), etcd: kubeBinary('etcd') };
}

function httpsStatus(url: string, ca: Buffer, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts etcd and a kube-apiserver (v1.37, built by .ci/install-kube.sh) on
 * free loopback ports in a temp dir: RBAC authorization, a static token
 * file (`admin` in system:masters plus `opts.users`), service-account keys
 * generated here, a self-signed serving certificate for 127.0.0.1. No
 * controllers or kubelet run: objects are stored, never reconciled.
 */
export async function startKube(opts: StartKubeOptions = {}): Promise<KubeCluster> {
  const bins = kubeBinaries();
  const tmp = tempDir('kube');
  const dir = tmp.path;
  const certDir = join(dir, 'pki');
  const dataDir = join(dir, 'etcd');
  mkdirSync(certDir);
  const users: Required<KubeUser>[] = [
    { name: 'admin', groups: ['system:masters'], token: '' },
    ...(opts.users ?? []).map((u) => ({ groups: [], token: '', ...u })),
  ];
  const tokens: Record<string, string> = {};
  const lines = users.map((u, i) => {
    const token = u.token || `kt-${randomBytes(24).toString('hex')}`;
    tokens[u.name] = token;
    return `${token},${u.name},uid-${i},"${u.groups.join(',')}"`;
  });
  writeFileSync(join(dir, 'tokens.csv'), `${lines.join('\n')}\n`, { mode: 0o600 });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

  const [etcdPort, peerPort, metricsPort, port] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const etcdLog = join(dir, 'etcd.log');
  const apiLog = join(dir, 'kube-apiserver.log');
  const etcdLife = new Restartable(
    () =>
      launchAndWait(
        {
          command: bins.etcd,
          logFile: etcdLog,
          cwd: dir,
          args: [
            '--name',
            'agentgate-test',
            '--data-dir',
            dataDir,
            '--listen-client-urls',
            `http://127.0.0.1:${etcdPort}`,
            '--advertise-client-urls',
            `http://127.0.0.1:${etcdPort}`,
            '--listen-peer-urls',
            `http://127.0.0.1:${peerPort}`,
            '--initial-advertise-peer-urls',
            `http://127.0.0.1:${peerPort}`,
            '--initial-cluster',
            `agentgate-test=http://127.0.0.1:${peerPort}`,
            '--listen-metrics-urls',
            `http://127.0.0.1:${metricsPort}`,
            '--unsafe-no-fsync',
          ],
        },
        {
          what: 'etcd',
          timeoutMs: 30_000,
          ready: async () => (await fetch(`http://127.0.0.1:${metricsPort}/health`, { signal: AbortSignal.timeout(1000) })).status === 200,
        },
      ),
    5_000,
  );
  await firstStart(etcdLife, tmp);

  const caFile = join(certDir, 'apiserver.crt');
  const apiLife = new Restartable(
    () =>
      launchAndWait(
        {
          command: bins.apiserver,
          logFile: apiLog,
          cwd: dir,
          args: [
            `--etcd-servers=http://127.0.0.1:${etcdPort}`,
            '--bind-address=127.0.0.1',
            `--secure-port=${port}`,
            `--cert-dir=${certDir}`,
            `--token-auth-file=${join(dir, 'tokens.csv')}`,
            '--authorization-mode=RBAC',
            '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
            `--service-account-key-file=${join(dir, 'sa.pub')}`,
            `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
            '--service-cluster-ip-range=10.96.0.0/16',
            // No controllers run: pods would wait for a default ServiceAccount that never comes.
            '--disable-admission-plugins=ServiceAccount',
            '--profiling=false',
            ...(opts.clientCaFile ? [`--client-ca-file=${opts.clientCaFile}`] : []),
            ...(opts.args ?? []),
          ],
        },
        {
          what: 'kube-apiserver',
          timeoutMs: opts.startTimeoutMs ?? 120_000,
          intervalMs: 200,
          ready: async () => existsSync(caFile) && (await httpsStatus(`https://127.0.0.1:${port}/readyz`, readFileSync(caFile), tokens['admin'] ?? '')) === 200,
        },
      ),
    10_000,
  );
  try {
    await apiLife.start();
  } catch (err) {
    await etcdLife.stop();
    tmp.cleanup();
    throw err;
  }

  const url = `https://127.0.0.1:${port}`;
  const cacheDir = join(dir, 'kubectl-cache');
  const writeKubeconfig: KubeCluster['writeKubeconfig'] = (name, o = {}) => {
    const server = o.server ?? url;
    const ca = o.caFile === undefined ? caFile : o.caFile;
    const cluster = ca ? `    certificate-authority: ${ca}\n` : '';
    const text = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ${server}
${cluster}users:
- name: u
  user:
    token: ${o.token ?? tokens['admin']}
contexts:
- name: ctx
  context: { cluster: c, user: u }
current-context: ctx
`;
    const path = join(dir, `${name}.kubeconfig`);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  return {
    url,
    port,
    caFile,
    adminToken: tokens['admin'] ?? '',
    tokens,
    kubectlPath: bins.kubectl,
    dir,
    writeKubeconfig,
    kubectl: (kubeconfig, args, o = {}) => runKubectl(kubeconfig, args, { cacheDir, home: dir, ...o }),
    stopApiServer: (o = {}) => (o.kill ? apiLife.kill() : apiLife.stop()),
    startApiServer: () => apiLife.start(),
    async close() {
      await apiLife.stop();
      await etcdLife.stop();
      tmp.cleanup();
    },
  };
}

/**
 * Runs the kubectl built with the API server (no cluster needed: a test
 * double or the gateway may be the server). Its cache and HOME are
 * `cacheDir`/`home`, never the developer's ~/.kube.
 */
export function runKubectl(
  kubeconfig: string,
  args: string[],
  o: { cacheDir: string; home: string; input?: string; timeoutMs?: number; env?: Record<string, string> },
): Promise<KubectlResult> {
  const bin = kubeBinary('kubectl');
  return new Promise<KubectlResult>((resolve) => {
    const child = execFile(
      bin,
      ['--kubeconfig', kubeconfig, '--cache-dir', o.cacheDir, ...args],
      { timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: o.home, ...o.env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end(o.input);
  });
}

/** A CA and a client certificate it signs (openssl CLI), for `client-certificate` credentials: CN = user, O = group. */
export function makeClientCertificate(dir: string, user: string, group: string): { caFile: string; bundlePem: string } {
  const run = (args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new TestkitError('ERR_COMMAND_FAILED', `openssl ${args[0]} failed: ${r.stderr.slice(0, 400)}`);
  };
  run(selfSignedCertArgs('/CN=agentgate-test-client-ca', 'client-ca.key', 'client-ca.crt'));
  run([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'client.key',
    '-out',
    'client.csr',
    '-subj',
    `/O=${group}/CN=${user}`,
  ]);
  run(['x509', '-req', '-in', 'client.csr', '-CA', 'client-ca.crt', '-CAkey', 'client-ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2']);
  return { caFile: join(dir, 'client-ca.crt'), bundlePem: `${readFileSync(join(dir, 'client.crt'), 'utf8')}${readFileSync(join(dir, 'client.key'), 'utf8')}` };
}
