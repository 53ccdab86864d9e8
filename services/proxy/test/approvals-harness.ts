import { type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { type Config } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { freePort, githubClaims, tempDir } from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { type Harness, startHarness } from './harness.js';
import { startProxyProcess } from './proxy-process.js';

/**
 * The proxy harness (real nats-server, identity, secret broker, upstream)
 * with approvals on: members of `acme-ci` may approve, a held request waits
 * up to 20 s. Requests to `/api/admin…` match the harness's `review` rule.
 */
export interface ApprovalsHarness extends Harness {
  /** Token of an approver: another acme repository, another subject, session and actor. */
  approverToken: string;
  /** Token of a principal in no approver group. */
  outsiderToken: string;
  /** The requester's human (`actor: octocat`) in another repository and run: another subject and session, same person. */
  sameActorToken: string;
  /** The data directory (`bus.dataDir`): held bodies are spooled under `approvals-spool/`. */
  dataDir: string;
  /** Another proxy on the same NATS, with these approvals settings (closed by `close`). */
  extraProxy(approvals: Partial<Config['approvals']>): Promise<ProxyHandle>;
  /** The same proxy as a process of its own (src/main.ts) on the same NATS, named `name`. */
  proxyProcess(name: string): Promise<ProxyProcess>;
}

/** A proxy running as a child process. */
export interface ProxyProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

export async function startApprovalsHarness(): Promise<ApprovalsHarness> {
  const data = tempDir('approvals-data');
  // harness.ts places this text at the top level of the file, between gateway and identity.
  const h = await startHarness({
    extraGateway: `approvals:\n  timeoutMs: 20000\n  approverGroups: [acme-ci]\nbus:\n  dataDir: ${data.path}\n`,
  });
  const approverToken = await h.issuer.mint(githubClaims({ repository: 'acme/ops', run_id: '7000000777', actor: 'release-manager', actor_id: '700001' }));
  const outsiderToken = await h.issuer.mint(githubClaims({ repository: 'other/app', run_id: '7000000888', actor: 'stranger', actor_id: '700002' }));
  const sameActorToken = await h.issuer.mint(githubClaims({ repository: 'acme/ops', run_id: '7000000999' }));
  const extras: ProxyHandle[] = [];
  const processes: Array<{ stop(): Promise<void> }> = [];
  return {
    ...h,
    approverToken,
    outsiderToken,
    sameActorToken,
    dataDir: data.path,
    extraProxy: async (approvals) => {
      const config = { ...h.config, approvals: { ...h.config.approvals, ...approvals } } as Config;
      const logger = createLogger({ name: 'proxy-2', level: 'warn', destination: { write: () => {} } });
      const p = await startProxy(h.bus, config, logger, { host: '127.0.0.1', port: 0 });
      extras.push(p);
      return p;
    },
    proxyProcess: async (name) => {
      const port = await freePort();
      const p = await startProxyProcess(h.configText.replace('name: test-gateway', `name: ${name}`), h.nats.url, port);
      processes.push(p);
      return { url: `http://127.0.0.1:${port}`, child: p.child, exited: p.exited };
    },
    close: async () => {
      for (const p of processes) await p.stop();
      for (const p of extras) await p.close();
      await h.close();
      data.cleanup();
    },
  };
}

export interface Reply {
  status: number;
  json: Record<string, unknown>;
  text: string;
}

/** One HTTP call with a bearer token; the JSON body is parsed when there is one. */
export function call(base: string, method: string, path: string, token: string | undefined, body?: object, signal?: AbortSignal): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method,
        headers: {
          ...(token !== undefined && { authorization: `Bearer ${token}` }),
          ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          connection: 'close',
        },
        ...(signal && { signal }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {}
          resolve({ status: res.statusCode ?? 0, json, text });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the approver API until the proxy at `base` lists a pending approval, returning its id. */
export async function pendingId(base: string, token: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await call(base, 'GET', '/_agentgate/approvals', token);
    const list = (r.json.approvals ?? []) as Array<{ id: string }>;
    if (r.status === 200 && list[0]) return list[0].id;
    await wait(50);
  }
  throw new Error('no pending approval appeared');
}
