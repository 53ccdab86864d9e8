import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local double of the part of GitLab's REST API (v4) the forge tests call:
 * no GitLab instance can run here. It answers the documented paths with the
 * documented shapes, keeps protected branches, variables and projects in
 * memory, and refuses any request without the configured `PRIVATE-TOKEN`
 * (the gateway's brokered credential), as GitLab does with 401.
 */
export interface GitlabDouble {
  /** `http://127.0.0.1:<port>` (the API is under `/api/v4`). */
  readonly url: string;
  /** Every request the double received: method, path (with query), the token header it saw. */
  readonly requests: Array<{ method: string; path: string; token: string | undefined; authorization: string | undefined }>;
  readonly protectedBranches: Map<string, Set<string>>;
  readonly variables: Map<string, Map<string, string>>;
  readonly projects: Map<string, { id: number; path_with_namespace: string; visibility: string }>;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  if ((req.headers['content-type'] ?? '').includes('application/json')) return JSON.parse(text) as Record<string, unknown>;
  return Object.fromEntries(new URLSearchParams(text));
}

export async function startGitlabDouble(o: { credential: string; projects: Array<{ id: number; path: string }> }): Promise<GitlabDouble> {
  const requests: GitlabDouble['requests'] = [];
  const projects: GitlabDouble['projects'] = new Map(o.projects.map((p) => [String(p.id), { id: p.id, path_with_namespace: p.path, visibility: 'private' }]));
  const protectedBranches = new Map<string, Set<string>>(o.projects.map((p) => [String(p.id), new Set(['main'])]));
  const variables = new Map<string, Map<string, string>>(o.projects.map((p) => [String(p.id), new Map()]));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://gitlab.invalid');
    const token = req.headers['private-token'] as string | undefined;
    requests.push({ method, path: url.pathname + url.search, token, authorization: req.headers.authorization });
    if (token !== o.credential) return json(res, 401, { message: '401 Unauthorized' });
    const m = /^\/api\/v4\/projects\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!m) return json(res, 404, { message: '404 Not Found' });
    const id = decodeURIComponent(m[1] as string);
    const project = projects.get(id);
    if (!project) return json(res, 404, { message: '404 Project Not Found' });
    const rest = m[2] ?? '';
    if (rest === '' && method === 'GET') return json(res, 200, project);
    if (rest === '' && method === 'DELETE') {
      projects.delete(id);
      return json(res, 202, { message: '202 Accepted' });
    }
    if (rest === '' && method === 'PUT') {
      const body = await readJson(req);
      if (typeof body.visibility === 'string') project.visibility = body.visibility;
      return json(res, 200, project);
    }
    if (rest === '/protected_branches' && method === 'GET')
      return json(
        res,
        200,
        [...(protectedBranches.get(id) ?? [])].map((name) => ({ name })),
      );
    const pb = /^\/protected_branches\/(.+)$/.exec(rest);
    if (pb && method === 'DELETE') {
      protectedBranches.get(id)?.delete(decodeURIComponent(pb[1] as string));
      res.writeHead(204).end();
      return;
    }
    if (rest === '/variables' && method === 'POST') {
      const body = await readJson(req);
      variables.get(id)?.set(String(body.key), String(body.value));
      return json(res, 201, { key: body.key, variable_type: 'env_var', protected: false, masked: false });
    }
    return json(res, 404, { message: '404 Not Found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => json(res, 500, { message: err.message }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    protectedBranches,
    variables,
    projects,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
