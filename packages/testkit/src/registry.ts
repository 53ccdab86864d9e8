import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { bcryptHtpasswdLine } from './lib/htpasswd.js';
import { launchAndWait } from './lib/launch.js';
import { httpGet } from './lib/probe.js';
import { Restartable, firstStart } from './lib/restartable.js';
import { requireBinary } from './require-binary.js';
import { tempDir } from './temp-dir.js';

/** Options of startRegistry. */
export interface StartRegistryOptions {
  /** When set, the registry requires HTTP Basic with this credential (htpasswd, bcrypt). */
  auth?: { username: string; password: string };
  /**
   * When set, the registry requires bearer tokens from this token server (`auth: token`):
   * pass a RegistryTokenIssuer (startRegistryTokenIssuer). Exclusive with `auth`.
   */
  tokenAuth?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** Default 20 s. */
  startTimeoutMs?: number;
}

/** A real Distribution 2.8 registry (Debian docker-registry) on loopback, plain HTTP. */
export interface Registry {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `127.0.0.1:<port>`, for image references (`<host>/<name>:<tag>`). */
  readonly host: string;
  readonly port: number;
  /** Filesystem storage root; kept across stop/start. */
  readonly storageDir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly startupMs: number;
  readonly running: boolean;
  /** Starts again on the same port with the same storage (no-op when running). */
  start(): Promise<void>;
  /** Stops the registry and removes its temp dir. */
  stop(): Promise<void>;
  /** Stops the process but keeps storage, for a later start(). */
  pause(): Promise<void>;
}

/**
 * Starts Debian's docker-registry with a generated config: filesystem
 * storage in a temp dir, loopback address, deletes enabled, optional
 * htpasswd or token auth.
 */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<Registry> {
  const bin = requireBinary('docker-registry', 'apt-get install -y docker-registry');
  const tmp = tempDir('registry');
  const storageDir = join(tmp.path, 'storage');
  mkdirSync(storageDir);
  const port = await freePort();
  const configFile = join(tmp.path, 'config.yml');
  const logFile = join(tmp.path, 'registry.log');
  let auth: object | undefined;
  if (opts.tokenAuth) {
    const t = opts.tokenAuth;
    auth = { token: { realm: t.realm, service: t.service, issuer: t.issuer, rootcertbundle: t.rootCertBundle } };
  } else if (opts.auth) {
    const htpasswdFile = join(tmp.path, 'htpasswd');
    writeFileSync(htpasswdFile, `${bcryptHtpasswdLine(opts.auth.username, opts.auth.password)}\n`, { mode: 0o600 });
    auth = { htpasswd: { realm: 'agentgate-test-registry', path: htpasswdFile } };
  }
  // JSON is YAML: no YAML library needed to write the config.
  const config = {
    version: 0.1,
    log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: storageDir },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
    health: { storagedriver: { enabled: false } },
    ...(auth ? { auth } : {}),
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const url = `http://127.0.0.1:${port}`;

  const life = new Restartable(
    () =>
      launchAndWait(
        { command: bin, args: ['serve', configFile], logFile, cwd: tmp.path },
        {
          what: 'docker-registry',
          timeoutMs: opts.startTimeoutMs ?? 20_000,
          // /v2/ answers 200, or 401 when auth is on: either way the API serves.
          ready: async () => [200, 401].includes((await httpGet(`${url}/v2/`)).status),
        },
      ),
    5_000,
  );
  await firstStart(life, tmp);

  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    storageDir,
    configFile,
    logFile,
    get startupMs() {
      return life.startupMs;
    },
    get running() {
      return life.running;
    },
    start: () => life.start(),
    pause: () => life.stop(),
    async stop() {
      await life.stop();
      tmp.cleanup();
    },
  };
}
