import { request } from 'node:http';
import { type Config } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { githubClaims } from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { type Harness, startHarness } from './harness.js';

/**
 * The proxy harness (real nats-server, identity, secret broker, upstream)
 * with approvals on: members of `acme-ci` may approve, a held request waits
 * up to 20 s. Requests to `/api/admin…` match the harness's `review` rule.
 */
export interface ApprovalsHarness extends Harness {
  /** Token of an approver: another acme repository, another subject and session. */
  approverToken: string;
  /** Token of a principal in no approver group. */
  outsiderToken: string;
  /** Another proxy on the same NATS, with these approvals settings (closed by `close`). */
  extraProxy(approvals: Partial<Config['approvals']>): Promise<ProxyHandle>;
}

export async function startApprovalsHarness(): Promise<ApprovalsHarness> {
  // harness.ts places this text at the top level of the file, between gateway and identity.
  const h = await startHarness({ extraGateway: 'approvals:\n  timeoutMs: 20000\n  approverGroups: [acme-ci]\n' });
  const approverToken = await h.issuer.mint(githubClaims({ repository: 'acme/ops', run_id: '7000000777' }));
  const outsiderToken = await h.issuer.mint(githubClaims({ repository: 'other/app', run_id: '7000000888' }));
  const extras: ProxyHandle[] = [];
  return {
    ...h,
    approverToken,
    outsiderToken,
    extraProxy: async (approvals) => {
      const config = { ...h.config, approvals: { ...h.config.approvals, ...approvals } } as Config;
      const logger = createLogger({ name: 'proxy-2', level: 'warn', destination: { write: () => {} } });
      const p = await startProxy(h.bus, config, logger, { host: '127.0.0.1', port: 0 });
      extras.push(p);
      return p;
    },
    close: async () => {
      for (const p of extras) await p.close();
      await h.close();
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
