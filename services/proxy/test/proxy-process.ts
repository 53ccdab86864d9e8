import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
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

/** What the client got of the slow stream `sigtermMidStream` read. */
export interface StreamedThroughSigterm {
  status: number;
  body: string;
  /** False when the response ended without its end (the shutdown cut it). */
  complete: boolean;
  /** When SIGTERM was sent (0: never, the body never started). */
  signalled: number;
}

/**
 * GETs the hardening upstream's slow stream (`/api/slow-stream`, 20 pieces over 1 s) through the proxy
 * process `p` and sends it SIGTERM as the first piece arrives: what a drain must let finish.
 */
export function sigtermMidStream(p: ProxyProcess, token: string): Promise<StreamedThroughSigterm> {
  let signalled = 0;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: p.port, path: '/api/slow-stream?ms=1000&pieces=20', headers: { authorization: `Bearer ${token}` } }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => {
        if (!signalled) {
          signalled = Date.now();
          p.child.kill('SIGTERM');
        }
        body += c;
      });
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body, complete: true, signalled }));
      r.on('aborted', () => resolve({ status: r.statusCode ?? 0, body, complete: false, signalled }));
    });
    req.on('error', reject);
    req.end();
  });
}
