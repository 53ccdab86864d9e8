import { readFileSync } from 'node:fs';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { CliError } from '../errors.js';
import { parseCommandArgs } from '../lib/args.js';
import type { ExitCode, Output } from '../lib/output.js';
import { COMMAND_USAGE } from '../lib/usage.js';

const USAGE = COMMAND_USAGE['mcp-bridge'];

/** What the bridge needs, from flags and environment. */
export interface BridgeOptions {
  url: URL;
  /** The bearer for the next request (a token file is read again each time: CI tokens are short-lived). */
  token: () => string;
}

/** Reads the flags; throws CliError (exit 2) on a usage error. */
export function bridgeOptions(args: string[], env: NodeJS.ProcessEnv): BridgeOptions {
  const { values } = parseCommandArgs('mcp-bridge', args, {
    connection: { type: 'string' },
    gateway: { type: 'string' },
    token: { type: 'string' },
    'token-file': { type: 'string' },
  });
  const connection = values.connection;
  if (!connection || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(connection))
    throw new CliError('ERR_CLI_USAGE', `--connection NAME is required (a connection name)\n${USAGE}`);
  const gateway = values.gateway ?? env['AGENTGATE_GATEWAY'];
  let base: URL;
  try {
    base = new URL(gateway ?? '');
  } catch {
    throw new CliError('ERR_CLI_USAGE', `--gateway must be an http(s) URL\n${USAGE}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new CliError('ERR_CLI_USAGE', '--gateway must be an http(s) URL');
  const file = values['token-file'] ?? env['AGENTGATE_TOKEN_FILE'];
  const fixed = values.token ?? env['AGENTGATE_TOKEN'];
  if (!file && !fixed) throw new CliError('ERR_CLI_USAGE', `no token: pass --token-file, --token, or set AGENTGATE_TOKEN_FILE / AGENTGATE_TOKEN\n${USAGE}`);
  const token = file
    ? () => {
        try {
          return readFileSync(file, 'utf8').trim();
        } catch (cause) {
          throw new CliError('ERR_CLI_INPUT', `cannot read the token file ${file}`, { cause });
        }
      }
    : () => fixed as string;
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/${connection}`, base.origin);
  return { url, token };
}

/**
 * `agentgate mcp-bridge`: lets an agent that starts MCP servers as local
 * processes (stdio) use a remote MCP server through the gateway. It relays
 * every JSON-RPC message unchanged between stdin/stdout and the gateway's
 * Streamable HTTP endpoint, with the CI token as the bearer; the gateway
 * decides, masks and records each message, and holds the server's
 * credential. A request the gateway cannot be reached for is answered with
 * a JSON-RPC error, so the agent never waits on a lost message. Logs go to
 * stderr: stdout is the protocol. Exits 0 when stdin closes (after ending
 * the session), 1 when the gateway stream fails for good.
 */
export async function mcpBridge(args: string[], io: Output, env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  const opts = bridgeOptions(args, env);
  const http = new StreamableHTTPClientTransport(opts.url, {
    fetch: (url, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${opts.token()}`);
      return fetch(url, { ...init, headers });
    },
  });
  const stdio = new StdioServerTransport();
  let closing = false;
  const done = new Promise<ExitCode>((resolve) => {
    stdio.onclose = () => {
      closing = true;
      void http
        .terminateSession()
        .catch(() => {})
        .finally(() => void http.close().finally(() => resolve(0)));
    };
    http.onclose = () => {
      if (!closing) {
        io.err('agentgate mcp-bridge: the gateway connection closed');
        void stdio.close().finally(() => resolve(1));
      }
    };
  });
  http.onerror = (err) => io.err(`agentgate mcp-bridge: ${err.message}`);
  stdio.onerror = (err) => io.err(`agentgate mcp-bridge: bad input on stdin: ${err.message}`);
  http.onmessage = (msg) => {
    void stdio.send(msg).catch((err: unknown) => io.err(`agentgate mcp-bridge: cannot write to stdout: ${(err as Error).message}`));
  };
  stdio.onmessage = (msg: JSONRPCMessage) => {
    http.send(msg).catch((err: unknown) => {
      io.err(`agentgate mcp-bridge: ${(err as Error).message}`);
      // A request must get an answer: the agent would otherwise wait for its timeout.
      if ('method' in msg && 'id' in msg && msg.id !== undefined) {
        const error = { code: -32603, message: `agentgate gateway: ${(err as Error).message}`.slice(0, 2000) };
        void stdio.send({ jsonrpc: '2.0', id: msg.id, error }).catch(() => {});
      }
    });
  };
  await http.start();
  await stdio.start();
  return done;
}
