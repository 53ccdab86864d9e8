import { execFile, spawn } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The demo's git upstream: the real `git http-backend` (smart HTTP, fetch and
 * push) behind a small HTTP server that accepts only one Basic credential —
 * the one the gateway's secret broker holds — plus a tiny deployments API
 * (`POST /api/deployments`) for the demo's held-for-approval action. The
 * testkit has a richer git server for tests (request records, bearer auth);
 * the demo keeps its own so the runtime image carries no test package.
 */

const run = promisify(execFile);
const HEADER_END = /\r?\n\r?\n/;

/** Options of startGitUpstream. */
export interface GitUpstreamOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Where the bare repositories live (default: a temp dir, removed on close). */
  root?: string;
  /** The only credential accepted (HTTP Basic). */
  auth: { username: string; password: string };
}

/** A running git upstream. */
export interface GitUpstream {
  readonly url: string;
  /** Creates `<name>.git` with one commit on main, unless it exists. */
  createRepo(name: string): Promise<void>;
  /** Deployments created through the API, in order. */
  readonly deployments: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'acme',
    GIT_AUTHOR_EMAIL: 'dev@acme.invalid',
    GIT_COMMITTER_NAME: 'acme',
    GIT_COMMITTER_EMAIL: 'dev@acme.invalid',
    ...extra,
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function authorized(header: string | undefined, auth: GitUpstreamOptions['auth']): boolean {
  const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  // Hashes have equal lengths, so the comparison is constant-time and never throws.
  return header !== undefined && timingSafeEqual(digest(header.trim()), digest(expected));
}

/** Streams one request through `git http-backend` (CGI): neither body is held whole. */
function cgi(req: IncomingMessage, res: ServerResponse, root: string, url: URL): void {
  const child = spawn('git', ['http-backend'], {
    env: gitEnv({
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.receivepack',
      GIT_CONFIG_VALUE_0: 'true',
      REMOTE_USER: 'gateway',
      GATEWAY_INTERFACE: 'CGI/1.1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    }),
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  child.once('error', () => {
    if (!res.headersSent) res.writeHead(502).end('git http-backend could not start\n');
  });
  // The backend may answer before it read the whole body (an error): a broken pipe is expected then.
  child.stdin.on('error', () => {});
  req.pipe(child.stdin);
  res.once('close', () => {
    if (!res.writableFinished) child.kill('SIGKILL');
  });
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const match = HEADER_END.exec(head.toString('latin1'));
    if (!match) return;
    child.stdout.off('data', onData);
    let status = 200;
    for (const line of head.subarray(0, match.index).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 502;
      else res.appendHeader(name, value);
    }
    res.statusCode = status;
    res.write(head.subarray(match.index + match[0].length));
    child.stdout.pipe(res);
  };
  child.stdout.on('data', onData);
  child.stdout.once('end', () => {
    if (!res.headersSent) res.writeHead(502).end('git http-backend sent no header block\n');
  });
}

/** Starts the git upstream (see the module comment). */
export async function startGitUpstream(opts: GitUpstreamOptions): Promise<GitUpstream> {
  const ownRoot = opts.root === undefined;
  const root = opts.root ?? mkdtempSync('/tmp/agentgate-demo-git-');
  mkdirSync(root, { recursive: true });
  const deployments: Array<Record<string, unknown>> = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (!authorized(req.headers.authorization, opts.auth)) {
      // Fail closed: nothing runs for a request without the brokered credential.
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="demo-git"', 'content-type': 'text/plain' }).end('authentication required\n');
      return;
    }
    if (url.pathname === '/api/deployments' && req.method === 'POST') {
      let raw = '';
      req.on('data', (c) => {
        raw += String(c);
      });
      req.on('end', () => {
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(raw || '{}') as Record<string, unknown>;
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"body is not JSON"}');
          return;
        }
        const deployment = {
          id: deployments.length + 1,
          environment: String(body['environment'] ?? 'production'),
          ref: String(body['ref'] ?? 'main'),
          status: 'queued',
        };
        deployments.push(deployment);
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(deployment));
      });
      return;
    }
    cgi(req, res, root, url);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'}:${port}`,
    deployments,
    async createRepo(name) {
      const bare = join(root, `${name}.git`);
      if (existsSync(bare)) return;
      const work = mkdtempSync('/tmp/agentgate-demo-seed-');
      try {
        await run('git', ['init', '-q', '--bare', '--initial-branch=main', bare], { env: gitEnv() });
        await run('git', ['init', '-q', '--initial-branch=main', work], { env: gitEnv() });
        writeFileSync(join(work, 'README.md'), `# ${name}\n`);
        await run('git', ['add', 'README.md'], { cwd: work, env: gitEnv() });
        await run('git', ['commit', '-q', '-m', 'initial commit'], { cwd: work, env: gitEnv() });
        await run('git', ['push', '-q', bare, 'main'], { cwd: work, env: gitEnv() });
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          if (ownRoot) rmSync(root, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
