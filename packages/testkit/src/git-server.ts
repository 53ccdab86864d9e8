import { createHash, timingSafeEqual } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { join } from 'node:path';
import { isolatedGitEnv, runGit } from './git-cli.js';
import { runCgi } from './lib/cgi.js';
import { requireBinary } from './require-binary.js';
import { tempDir } from './temp-dir.js';

/** Credential the upstream requires: HTTP Basic or a bearer token. */
export type GitServerAuth = { username: string; password: string } | { bearer: string };

/** Options of startGitServer. */
export interface StartGitServerOptions {
  /** When set, every request must carry this credential (401 otherwise). */
  auth?: GitServerAuth;
}

/** What the upstream saw of one request; the Authorization value is never kept. */
export interface GitRequestRecord {
  method: string;
  /** Path and query, e.g. `/demo.git/info/refs?service=git-upload-pack`. */
  path: string;
  hasAuthorization: boolean;
  /** True when the request passed the auth check (always true without `auth`). */
  authorized: boolean;
  /** Request body sent with `Transfer-Encoding: chunked` (git does so past http.postBuffer). */
  chunked: boolean;
  /** Request body bytes received (as sent, before any gzip decoding). */
  requestBytes: number;
  /** Response status, 0 until the response has finished. */
  status: number;
}

/** Options of createRepo. */
export interface CreateRepoOptions {
  /** Commits on `main`: true = 1, false/0 = empty repository (default 1). */
  withCommits?: boolean | number;
}

/** A bare repository served by the git server. */
export interface GitRepo {
  name: string;
  /** Bare repository directory. */
  path: string;
  /** Clone URL (no credentials in it). */
  url: string;
}

/** A real `git http-backend` behind a small loopback HTTP server. */
export interface GitServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** GIT_PROJECT_ROOT: bare repositories live here as `<name>.git`. */
  readonly root: string;
  /** http-backend's stderr. */
  readonly logFile: string;
  /** Every request the server received, in order; tests may clear it (`requests.length = 0`). */
  readonly requests: GitRequestRecord[];
  createRepo(name: string, opts?: CreateRepoOptions): Promise<GitRepo>;
  /** `<url>/<name>.git`. */
  repoUrl(name: string): string;
  /** Closes the server, kills in-flight backends and removes the temp dir. */
  stop(): Promise<void>;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time check of the Authorization header against the configured credential. */
function checkAuth(header: string | undefined, auth: GitServerAuth): boolean {
  if (!header) return false;
  const expected = 'bearer' in auth ? `Bearer ${auth.bearer}` : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  // Hashing first gives equal lengths, so timingSafeEqual never throws or leaks length.
  return timingSafeEqual(sha256(header.trim()), sha256(expected));
}

function challenge(auth: GitServerAuth): string {
  return 'bearer' in auth ? 'Bearer realm="agentgate-test-git"' : 'Basic realm="agentgate-test-git"';
}

/**
 * Starts a loopback HTTP server that runs the real `git http-backend` as CGI
 * (smart HTTP, fetch and push, both bodies streamed) over repositories in a
 * temp dir, optionally requiring a credential the client will not have (the
 * gateway injects it).
 */
export async function startGitServer(opts: StartGitServerOptions = {}): Promise<GitServer> {
  const git = requireBinary('git', 'apt-get install -y git');
  const tmp = tempDir('git');
  const root = join(tmp.path, 'repos');
  mkdirSync(root);
  const logFile = join(tmp.path, 'http-backend.log');
  const stderr = createWriteStream(logFile, { flags: 'a' });
  const requests: GitRequestRecord[] = [];
  const { auth } = opts;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const header = req.headers.authorization;
    const authorized = auth ? checkAuth(header, auth) : true;
    const record: GitRequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      hasAuthorization: header !== undefined,
      authorized,
      chunked: /chunked/i.test(req.headers['transfer-encoding'] ?? ''),
      requestBytes: 0,
      status: 0,
    };
    requests.push(record);
    req.on('data', (chunk: Buffer) => {
      record.requestBytes += chunk.length;
    });
    res.once('finish', () => {
      record.status = res.statusCode;
    });
    if (!authorized && auth) {
      // Fail closed: no backend runs for an unauthenticated request.
      res.writeHead(401, { 'WWW-Authenticate': challenge(auth), 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      req.resume();
      return;
    }
    const env = isolatedGitEnv({
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      // receive-pack is refused unless enabled or REMOTE_USER is set; do both.
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.receivepack',
      GIT_CONFIG_VALUE_0: 'true',
      REMOTE_USER: auth ? ('bearer' in auth ? 'bearer' : auth.username) : 'anonymous',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      // Without CONTENT_LENGTH (chunked uploads) http-backend reads until EOF.
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    });
    await runCgi(req, res, { command: git, args: ['http-backend'], env, stderr });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      stderr.write(`testkit git server: ${err instanceof Error ? err.message : String(err)}\n`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const base = `http://127.0.0.1:${port}`;
  const repoUrl = (name: string): string => `${base}/${name}.git`;

  return {
    url: base,
    port,
    root,
    logFile,
    requests,
    repoUrl,
    async createRepo(name, repoOpts = {}) {
      const path = join(root, `${name}.git`);
      await runGit(['init', '--quiet', '--bare', '--initial-branch=main', path]);
      const commits = repoOpts.withCommits === undefined ? 1 : Number(repoOpts.withCommits);
      if (commits > 0) {
        const work = join(tmp.path, 'work', name);
        mkdirSync(work, { recursive: true });
        await runGit(['init', '--quiet', '--initial-branch=main'], { cwd: work });
        for (let i = 1; i <= commits; i++) {
          writeFileSync(join(work, 'README.md'), `# ${name}\n\ncommit ${i}\n`);
          await runGit(['add', 'README.md'], { cwd: work });
          await runGit(['commit', '--quiet', '-m', i === 1 ? 'initial commit' : `commit ${i}`], { cwd: work });
        }
        await runGit(['push', '--quiet', path, 'main'], { cwd: work });
      }
      return { name, path, url: repoUrl(name) };
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => stderr.end(() => resolve()));
      tmp.cleanup();
    },
  };
}
