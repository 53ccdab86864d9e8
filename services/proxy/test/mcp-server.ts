import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** A real MCP server (the official SDK) behind Streamable HTTP, with a bearer credential the gateway injects. */
export interface TestMcpServer {
  /** `http://127.0.0.1:<port>/mcp` */
  readonly url: string;
  /** Tool calls the server executed, by tool name, in order. */
  readonly calls: Array<{ tool: string; args: Record<string, unknown> }>;
  /** Authorization headers the server saw (the gateway's credential, never the agent's token). */
  readonly authSeen: string[];
  close(): Promise<void>;
}

/**
 * Tools: `read_file` (harmless), `delete_repository` (destructive),
 * `deploy` and `merge_pull_request` (decided on their arguments),
 * `get_config` (its result holds `secretInResult`), `long_task` (streams
 * progress notifications before its result), `crash` (drops the HTTP
 * stream mid-answer). `json: true` answers POSTs with JSON bodies instead
 * of SSE streams.
 */
export async function startMcpServer(opts: { credential: string; secretInResult: string; json?: boolean }): Promise<TestMcpServer> {
  const calls: TestMcpServer['calls'] = [];
  const authSeen: string[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let current: ServerResponse | undefined;

  const build = (): McpServer => {
    const server = new McpServer({ name: 'agentgate-test-tools', version: '1.0.0' });
    const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
    server.registerTool('read_file', { description: 'Reads a file of the repository', inputSchema: { path: z.string() } }, async ({ path }) => {
      calls.push({ tool: 'read_file', args: { path } });
      return text(`contents of ${path}: hello`);
    });
    server.registerTool(
      'delete_repository',
      { description: 'Deletes a repository for good', inputSchema: { name: z.string() }, annotations: { destructiveHint: true } },
      async ({ name }) => {
        calls.push({ tool: 'delete_repository', args: { name } });
        return text(`deleted ${name}`);
      },
    );
    server.registerTool('deploy', { description: 'Deploys to an environment', inputSchema: { env: z.string() } }, async ({ env }) => {
      calls.push({ tool: 'deploy', args: { env } });
      return text(`deployed to ${env}`);
    });
    server.registerTool(
      'merge_pull_request',
      { description: 'Merges a pull request', inputSchema: { number: z.number(), base: z.string() } },
      async ({ number, base }) => {
        calls.push({ tool: 'merge_pull_request', args: { number, base } });
        return text(`merged #${number} into ${base}`);
      },
    );
    server.registerTool('get_config', { description: 'Shows the service configuration' }, async () => {
      calls.push({ tool: 'get_config', args: {} });
      return text(`DATABASE_URL=postgres://app:${opts.secretInResult}@db:5432/app\nLOG_LEVEL=info`);
    });
    server.registerTool('long_task', { description: 'Runs in steps, reporting progress', inputSchema: { steps: z.number() } }, async ({ steps }, extra) => {
      calls.push({ tool: 'long_task', args: { steps } });
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        if (token !== undefined)
          await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps, message: `step ${i}` } });
        await new Promise((r) => setTimeout(r, 20));
      }
      return text(`done in ${steps} steps`);
    });
    server.registerTool('crash', { description: 'Drops the connection mid-answer', inputSchema: { note: z.string().optional() } }, async (_args, extra) => {
      calls.push({ tool: 'crash', args: {} });
      const token = extra._meta?.progressToken;
      if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: 1, total: 2 } });
      await new Promise((r) => setTimeout(r, 50));
      current?.socket?.destroy();
      return text('never seen');
    });
    return server;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    authSeen.push(String(req.headers.authorization ?? ''));
    if (req.headers.authorization !== `Bearer ${opts.credential}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad credential"}');
      return;
    }
    const sid = req.headers['mcp-session-id'];
    let body: unknown;
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    }
    let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (!transport) {
      if (typeof sid === 'string') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
        return;
      }
      const t = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: opts.json === true,
        onsessioninitialized: (id) => {
          sessions.set(id, t);
        },
      });
      t.onclose = () => {
        if (t.sessionId) sessions.delete(t.sessionId);
      };
      await build().connect(t);
      transport = t;
    }
    if (req.method === 'POST') current = res;
    await transport.handleRequest(req, res, body);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    authSeen,
    close: async () => {
      for (const t of sessions.values()) await t.close().catch(() => {});
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
