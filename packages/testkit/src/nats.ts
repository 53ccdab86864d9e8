import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { launchAndWait } from './lib/launch.js';
import { httpGet, tcpOpen } from './lib/probe.js';
import { Restartable, type ServerLifecycle, firstStart, withLifecycle } from './lib/restartable.js';
import { TestkitError } from './errors.js';
import { requireBinary } from './require-binary.js';
import { tempDir } from './temp-dir.js';

/** Options of startNats. */
export interface StartNatsOptions {
  /** Enable JetStream with file storage in the temp dir (default true). */
  jetstream?: boolean;
  /** Client port; default: the server picks a free one on first start and keeps it. */
  port?: number;
  /** Extra nats-server arguments. */
  args?: string[];
  /** Default 20 s. */
  startTimeoutMs?: number;
}

/**
 * A real nats-server on loopback. `start` starts it again on the same port
 * with the same store (no-op when running); `stop` is graceful and `kill` a
 * SIGKILL, as a crash would, both keeping the store; `startupMs` runs from
 * spawn until /healthz answers ok.
 */
export interface NatsServer extends ServerLifecycle {
  /** `nats://127.0.0.1:<port>`; the same across stop/start. */
  readonly url: string;
  readonly port: number;
  /** HTTP monitoring endpoint (`/healthz`, `/jsz`, `/varz`). */
  readonly monitorUrl: string;
  /** JetStream store directory; kept across stop/start. */
  readonly storeDir: string;
  /** Temp dir holding the store and `nats-server.log`. */
  readonly dir: string;
  readonly logFile: string;
}

interface PortsFile {
  nats?: string[];
  monitoring?: string[];
}

function readPorts(dir: string): { port: number; monitorPort: number } | undefined {
  // One server per dir, and stale files are removed before each start.
  const file = readdirSync(dir).find((f) => /^nats-server_\d+\.ports$/.test(f));
  if (!file) return undefined;
  const ports = JSON.parse(readFileSync(join(dir, file), 'utf8')) as PortsFile;
  const port = Number(new URL(ports.nats?.[0] ?? '').port);
  const monitorPort = Number(new URL(ports.monitoring?.[0] ?? '').port);
  return port > 0 && monitorPort > 0 ? { port, monitorPort } : undefined;
}

/**
 * Starts nats-server (JetStream on, loopback only) in a temp dir and waits
 * until it accepts connections and reports healthy. The first start lets the
 * server choose free ports (`-p -1`, read back from its ports file, as the
 * nats.js test launcher does); later starts reuse them.
 */
export async function startNats(opts: StartNatsOptions = {}): Promise<NatsServer> {
  // Debian's nats-server (2.9) is too old (checkNatsVersion): .ci/install-deps.sh builds a current one into
  // /usr/local/bin; AGENTGATE_NATS_SERVER points at any other build.
  const bin = requireBinary(
    process.env.AGENTGATE_NATS_SERVER ?? 'nats-server',
    'bash .ci/install-deps.sh (go install github.com/nats-io/nats-server/v2 into /usr/local/bin), or set AGENTGATE_NATS_SERVER to a nats-server binary',
  );
  checkNatsVersion(bin);
  const tmp = tempDir('nats');
  const storeDir = join(tmp.path, 'jetstream');
  const portsDir = join(tmp.path, 'ports');
  const logFile = join(tmp.path, 'nats-server.log');
  mkdirSync(storeDir);
  mkdirSync(portsDir);
  let port = opts.port ?? -1;
  let monitorPort = -1;

  const launch = () => {
    // A killed server leaves its ports file behind; never read a stale one.
    for (const f of readdirSync(portsDir)) rmSync(join(portsDir, f), { force: true });
    return launchAndWait(
      {
        command: bin,
        logFile,
        cwd: tmp.path,
        args: [
          '-a',
          '127.0.0.1',
          '-p',
          String(port),
          '-m',
          String(monitorPort),
          '--ports_file_dir',
          portsDir,
          ...(opts.jetstream === false ? [] : ['-js', '-sd', storeDir]),
          ...(opts.args ?? []),
        ],
      },
      {
        what: 'nats-server',
        timeoutMs: opts.startTimeoutMs ?? 20_000,
        ready: async () => {
          const ports = readPorts(portsDir);
          if (!ports) return false;
          port = ports.port;
          monitorPort = ports.monitorPort;
          if (!(await tcpOpen(port))) return false;
          // /healthz turns ok only once JetStream has recovered its store.
          const health = await httpGet(`http://127.0.0.1:${monitorPort}/healthz`);
          return health.status === 200;
        },
      },
    );
  };

  const life = new Restartable(launch, 5_000);
  await firstStart(life, tmp);

  return withLifecycle(
    {
      get url() {
        return `nats://127.0.0.1:${port}`;
      },
      get port() {
        return port;
      },
      get monitorUrl() {
        return `http://127.0.0.1:${monitorPort}`;
      },
      storeDir,
      dir: tmp.path,
      logFile,
    },
    life,
    tmp,
  );
}

/** The oldest nats-server whose full streams refuse new messages (DiscardNew) without evicting old ones. */
export const MIN_NATS_VERSION = [2, 10, 5] as const;

/**
 * nats-server before 2.10.5 (Debian bookworm ships 2.9.10) can accept a small
 * message into a full DiscardNew stream by deleting the oldest one
 * (nats-io/nats-server#4771): an audit event could vanish silently. Tests
 * refuse to run on such a server rather than pass on it.
 */
function checkNatsVersion(bin: string): void {
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(`${out.stdout ?? ''}${out.stderr ?? ''}`);
  if (!m) return;
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [a, b, c] = MIN_NATS_VERSION;
  const tooOld = v[0]! < a || (v[0] === a && (v[1]! < b || (v[1] === b && v[2]! < c)));
  if (tooOld) {
    throw new TestkitError(
      'ERR_BINARY_MISSING',
      `${bin} is nats-server ${v.join('.')}, older than ${MIN_NATS_VERSION.join('.')} (a full DiscardNew stream may evict old messages, nats-io/nats-server#4771): ` +
        'go install github.com/nats-io/nats-server/v2@v2.15.3 and put it first on PATH (bash .ci/install-deps.sh does), or set AGENTGATE_NATS_SERVER',
    );
  }
}
