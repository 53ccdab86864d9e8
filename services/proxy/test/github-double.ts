import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** One request the double received (the body parsed when JSON; the Authorization value is never kept). */
export interface DoubleRequest {
  method: string;
  path: string;
  body: unknown;
  authorized: boolean;
}

/** A local double of the GitHub REST and GraphQL API (GHES-style paths under /api). */
export interface GithubDouble {
  /** `http://127.0.0.1:<port>`: REST under `/api/v3`, GraphQL at `/api/graphql`. */
  readonly url: string;
  readonly requests: DoubleRequest[];
  /** Branch protection currently set, by `owner/repo:branch`. */
  readonly protection: Map<string, unknown>;
  /** Repository settings as last patched, by `owner/repo`. */
  readonly repos: Map<string, Record<string, unknown>>;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';

/**
 * Speaks the documented paths and payloads of the calls the forge tests
 * make (docs.github.com/rest): repositories, branch protection, Actions
 * secrets and variables, contents, deploy keys, webhooks, collaborators,
 * releases, and git refs, the latter on the real bare repositories of a
 * testkit git server (`git update-ref`, fast-forward checked with
 * `merge-base --is-ancestor` as GitHub refuses a non-fast-forward without
 * `force`). Errors are GitHub's `{message, documentation_url}`. Every call
 * needs `Authorization: Bearer|token <credential>`.
 */
export async function startGithubDouble(o: { credential: string; gitRoot: string }): Promise<GithubDouble> {
  const requests: DoubleRequest[] = [];
  const protection = new Map<string, unknown>();
  const repos = new Map<string, Record<string, unknown>>();
  const git = (args: string[]): Promise<{ code: number; out: string }> =>
    new Promise((resolve) =>
      execFile('git', args, { env: { PATH: process.env.PATH, GIT_CONFIG_NOSYSTEM: '1', HOME: o.gitRoot } }, (err, stdout) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout.trim() }),
      ),
    );

  const send = (res: ServerResponse, status: number, body?: unknown): void => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-github-media-type': 'github.v3; format=json',
    });
    res.end(text);
  };
  const fail = (res: ServerResponse, status: number, message: string) => send(res, status, { message, documentation_url: DOCS, status: String(status) });

  const repoJson = (owner: string, name: string) => {
    const s = repos.get(`${owner}/${name}`) ?? {};
    const visibility = (s['visibility'] as string | undefined) ?? (s['private'] === false ? 'public' : 'private');
    return {
      id: 1296269,
      node_id: 'R_1',
      name: s['name'] ?? name,
      full_name: `${owner}/${s['name'] ?? name}`,
      owner: { login: owner },
      private: visibility !== 'public',
      visibility,
      default_branch: s['default_branch'] ?? 'main',
      archived: s['archived'] ?? false,
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    if (url.pathname === '/api/graphql') {
      const q = String((body as { query?: unknown })?.query ?? '');
      if (q.includes('viewer')) return send(res, 200, { data: { viewer: { login: 'agentgate-bot' } } });
      const m = /\b(\w+)\s*\(/.exec(q.replace(/^[^{]*\{/, ''));
      return send(res, 200, { data: m ? { [m[1] as string]: { clientMutationId: null } } : {} });
    }
    const p = url.pathname.replace(/^\/api\/v3/, '');
    if (p === '/user' && method === 'GET') return send(res, 200, { login: 'agentgate-bot', id: 1 });
    const r = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(p);
    if (!r) return fail(res, 404, 'Not Found');
    const [, owner, name, rest = ''] = r as unknown as [string, string, string, string];
    const key = `${owner}/${name}`;
    const bare = join(o.gitRoot, owner, `${name}.git`);
    if (rest === '') {
      if (method === 'GET') return send(res, 200, repoJson(owner, name));
      if (method === 'PATCH') {
        repos.set(key, { ...(repos.get(key) ?? {}), ...(body as object) });
        return send(res, 200, repoJson(owner, name));
      }
      if (method === 'DELETE') return send(res, 204);
    }
    if (rest === '/transfer' && method === 'POST') return send(res, 202, repoJson(String((body as { new_owner?: unknown }).new_owner), name));
    let m = /^\/branches\/(.+?)\/protection$/.exec(rest);
    if (m) {
      const pk = `${key}:${m[1]}`;
      if (method === 'GET')
        return protection.has(pk) ? send(res, 200, { url: `${DOCS}`, ...(protection.get(pk) as object) }) : fail(res, 404, 'Branch not protected');
      if (method === 'PUT') {
        protection.set(pk, body);
        return send(res, 200, body);
      }
      if (method === 'DELETE') {
        protection.delete(pk);
        return send(res, 204);
      }
    }
    if (rest === '/actions/secrets/public-key' && method === 'GET')
      return send(res, 200, { key_id: '568250167242549743', key: Buffer.alloc(32, 7).toString('base64') });
    m = /^\/actions\/secrets\/([^/]+)$/.exec(rest);
    if (m && method === 'PUT') return send(res, 201, {});
    if (rest === '/actions/variables' && method === 'POST') return send(res, 201, {});
    m = /^\/contents\/(.+)$/.exec(rest);
    if (m && method === 'PUT')
      return send(res, 201, { content: { name: m[1]?.split('/').pop(), path: m[1] }, commit: { sha: '7638417db6d59f3c431d3e1f261cc637155684cd' } });
    if (rest === '/keys' && method === 'POST')
      return send(res, 201, { id: 1, ...(body as object), read_only: (body as { read_only?: boolean }).read_only ?? false });
    if (rest === '/hooks' && method === 'POST') return send(res, 201, { id: 12345678, type: 'Repository', active: true, ...(body as object) });
    m = /^\/collaborators\/([^/]+)$/.exec(rest);
    if (m && method === 'PUT') return send(res, 201, { id: 1, invitee: { login: m[1] }, permissions: (body as { permission?: string }).permission ?? 'push' });
    m = /^\/releases\/(\d+)$/.exec(rest);
    if (m && method === 'DELETE') return send(res, 204);
    m = /^\/git\/(?:refs|ref)\/(.+)$/.exec(rest);
    if (m) {
      const ref = `refs/${m[1]}`;
      const cur = await git(['--git-dir', bare, 'rev-parse', '--verify', '--quiet', ref]);
      if (method === 'GET') return cur.code === 0 ? send(res, 200, { ref, object: { type: 'commit', sha: cur.out } }) : fail(res, 404, 'Not Found');
      if (cur.code !== 0) return fail(res, 422, 'Reference does not exist');
      if (method === 'DELETE') {
        await git(['--git-dir', bare, 'update-ref', '-d', ref]);
        return send(res, 204);
      }
      if (method === 'PATCH') {
        const { sha, force } = body as { sha?: string; force?: boolean };
        if (typeof sha !== 'string') return fail(res, 422, 'Invalid request.\n\n"sha" wasn\'t supplied.');
        const ff = await git(['--git-dir', bare, 'merge-base', '--is-ancestor', cur.out, sha]);
        if (ff.code !== 0 && force !== true) return fail(res, 422, 'Update is not a fast forward');
        const up = await git(['--git-dir', bare, 'update-ref', ref, sha]);
        if (up.code !== 0) return fail(res, 422, 'Object does not exist');
        return send(res, 200, { ref, object: { type: 'commit', sha } });
      }
    }
    return fail(res, 404, 'Not Found');
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // Not JSON: kept as text.
      }
      const auth = req.headers.authorization ?? '';
      const authorized = auth === `Bearer ${o.credential}` || auth === `token ${o.credential}`;
      requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', body, authorized });
      if (!authorized) return fail(res, 401, 'Bad credentials');
      handle(req, res, body).catch(() => fail(res, 500, 'Server Error'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    protection,
    repos,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
