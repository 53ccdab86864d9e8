import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@agentgate/testkit';

const PROXY_DIR = new URL('..', import.meta.url).pathname;

/** A proxy running as its own process (src/main.ts), as `npm start -w @agentgate/proxy` runs it. */
export interface ProxyProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** stdout + stderr so far. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** True while the process has not exited. */
  alive(): boolean;
  /** Kills the process (if still running) and removes its temporary directory. */
  stop(): Promise<void>;
}

/** Starts src/main.ts with `configText` on `natsUrl`, listening on 127.0.0.1:`port`; resolves once it listens. */
export async function startProxyProcess(configText: string, natsUrl: string, port: number): Promise<ProxyProcess> {
  const dir = tempDir('proxy-process');
  const file = join(dir.path, 'agentgate.yaml');
  writeFileSync(file, configText);
  const child = spawn(process.execPath, ['--conditions=agentgate-source', '--import', 'tsx', 'src/main.ts'], {
    cwd: PROXY_DIR,
    env: { ...process.env, AGENTGATE_CONFIG: file, NATS_URL: natsUrl, HOST: '127.0.0.1', PORT: String(port), AGENTGATE_DATA_DIR: dir.path, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 1800 && !out.includes('proxy listening'); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!out.includes('proxy listening')) {
    child.kill('SIGKILL');
    dir.cleanup();
    throw new Error(`the proxy process did not start:\n${out.slice(-2000)}`);
  }
  return {
    child,
    port,
    output: () => out,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      dir.cleanup();
    },
  };
}
