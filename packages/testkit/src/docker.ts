import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestkitError } from './errors.js';
import { findBinary } from './require-binary.js';
import { type TempDir, tempDir } from './temp-dir.js';

/** The base image .ci/install-docker.sh builds with debootstrap (no image registry is reachable from the test machines). */
export const DOCKER_BASE_IMAGE = 'agentgate-test/base:bookworm';
/** Where .ci/install-docker.sh sends dockerd's log. */
export const DOCKERD_LOG = '/var/log/agentgate-dockerd.log';
const INSTALL_HINT = 'run `bash .ci/install-docker.sh` (installs docker.io and debootstrap, starts dockerd, builds the local base image)';

/** Result of one docker CLI run (never throws: the caller checks `code`). */
export interface DockerRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A Docker CLI bound to the running engine, with its own config dir (logins never touch ~/.docker). */
export interface DockerCli {
  readonly bin: string;
  /** `DOCKER_CONFIG` of this client: `config.json` holds its logins. */
  readonly configDir: string;
  /** The engine's version (dockerd 20.10 from Debian's docker.io). */
  readonly serverVersion: string;
  /** Runs `docker <args>` (stdin from `input`); default timeout 5 min. */
  run(args: readonly string[], opts?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<DockerRun>;
  /** Bytes of the engine's log written since `offset` (the engine talks to registries, so its log is scanned for credentials too). */
  engineLogSince(offset: number): string;
  /** Current size of the engine's log (0 when it has none at the usual place). */
  engineLogOffset(): number;
  /** Removes the config dir (and its logins). */
  close(): void;
}

/**
 * Connects to the local Docker engine, or fails loudly saying what to run:
 * a test that needs the engine never skips silently.
 */
export async function dockerCli(): Promise<DockerCli> {
  const bin = findBinary('docker');
  if (!bin) throw new TestkitError('ERR_BINARY_MISSING', `docker not found on PATH: ${INSTALL_HINT}`);
  const tmp: TempDir = tempDir('docker-cli');
  writeFileSync(join(tmp.path, 'config.json'), '{}\n', { mode: 0o600 });
  const run = (args: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<DockerRun> =>
    new Promise((resolve) => {
      const child = execFile(
        bin,
        args,
        {
          // The classic builder: the engine is 20.10 and the buildx plugin is not installed.
          env: { PATH: process.env.PATH, HOME: tmp.path, DOCKER_CONFIG: tmp.path, DOCKER_BUILDKIT: '0', LANG: 'C', ...opts.env },
          maxBuffer: 64 * 1024 * 1024,
          timeout: opts.timeoutMs ?? 300_000,
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  const version = await run(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 30_000 });
  if (version.code !== 0 || !version.stdout.trim()) {
    tmp.cleanup();
    throw new TestkitError('ERR_NOT_RUNNING', `no Docker engine answers (${version.stderr.trim().slice(0, 200)}): ${INSTALL_HINT}`);
  }
  const logSize = (): number => {
    try {
      return statSync(DOCKERD_LOG).size;
    } catch {
      return 0;
    }
  };
  return {
    bin,
    configDir: tmp.path,
    serverVersion: version.stdout.trim(),
    run,
    engineLogOffset: logSize,
    engineLogSince(offset) {
      const end = logSize();
      if (end <= offset) return '';
      const buf = Buffer.alloc(Math.min(end - offset, 64 * 1024 * 1024));
      const fd = openSync(DOCKERD_LOG, 'r');
      try {
        readSync(fd, buf, 0, buf.length, offset);
      } finally {
        closeSync(fd);
      }
      return buf.toString('utf8');
    },
    close: () => tmp.cleanup(),
  };
}

/** One layer of a test image: a file of `size` random bytes (or the given content) at `/data/<name>`. */
export interface TestLayer {
  readonly name: string;
  readonly size?: number;
  readonly content?: string | Buffer;
}

/**
 * Builds `tag` with the classic builder: `FROM <from>` (default `scratch`;
 * DOCKER_BASE_IMAGE for a Debian userland) and one `COPY` layer per entry.
 * Random contents make every build a new set of digests.
 */
export async function buildTestImage(cli: DockerCli, x: { tag: string; from?: string; layers: readonly TestLayer[]; label?: string }): Promise<void> {
  const from = x.from ?? 'scratch';
  if (from === DOCKER_BASE_IMAGE) {
    const has = await cli.run(['image', 'inspect', DOCKER_BASE_IMAGE], { timeoutMs: 30_000 });
    if (has.code !== 0) throw new TestkitError('ERR_NOT_RUNNING', `the base image ${DOCKER_BASE_IMAGE} is missing: ${INSTALL_HINT}`);
  }
  const ctx = tempDir('docker-build');
  try {
    const lines = [`FROM ${from}`];
    if (x.label) lines.push(`LABEL agentgate.test=${JSON.stringify(x.label)}`);
    for (const layer of x.layers) {
      if (!/^[\w.-]+$/.test(layer.name)) throw new TestkitError('ERR_COMMAND_FAILED', `bad layer file name ${layer.name}`);
      writeFileSync(join(ctx.path, layer.name), layer.content ?? randomFile(layer.size ?? 1024));
      lines.push(`COPY ${layer.name} /data/${layer.name}`);
    }
    writeFileSync(join(ctx.path, 'Dockerfile'), `${lines.join('\n')}\n`);
    const r = await cli.run(['build', '-q', '-t', x.tag, ctx.path], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new TestkitError('ERR_COMMAND_FAILED', `docker build ${x.tag} failed: ${r.stderr.trim().slice(-500)}`);
  } finally {
    ctx.cleanup();
  }
}

function randomFile(size: number): Buffer {
  return randomBytes(size);
}
