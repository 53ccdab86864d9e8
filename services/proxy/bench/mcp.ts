/**
 * MCP tool-call round trip, direct vs through the gateway: the official SDK
 * client calls a tool of an SDK server (Streamable HTTP, SSE answers), once
 * straight to the server and once through the gateway with full durable
 * audit on a real nats-server (classify, decide, session check, mask
 * arguments and result, record requested + completed). Prints p50/p99 of
 * each and what the gateway adds.
 *
 *   npm run bench:mcp -w @agentgate/proxy          # default 1000 sequential calls after 100 warm-up
 *   N=3000 npm run bench:mcp -w @agentgate/proxy
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { githubClaims, startCiIssuer, startNats } from '@agentgate/testkit';
import { startProxy } from '../src/index.js';
import { startBackends } from '../test/backends.js';
import { startMcpServer } from '../test/mcp-server.js';

const N = Number(process.env['N'] ?? 1000);
const WARM = 100;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function roundTrips(url: string, authorization: string): Promise<number[]> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization } } });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  const call = () => client.callTool({ name: 'read_file', arguments: { path: 'README.md' } });
  for (let i = 0; i < WARM; i++) await call();
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    await call();
    out.push(performance.now() - s);
  }
  await transport.terminateSession().catch(() => {});
  await client.close();
  return out.sort((a, b) => a - b);
}

const mcpKey = `mcp-${randomBytes(16).toString('hex')}`;
const server = await startMcpServer({ credential: mcpKey, secretInResult: 'unused-secret-value' });
const nats = await startNats();
const issuer = await startCiIssuer({ alg: 'RS256' });
const config = loadConfig({
  text: `
gateway: { name: bench-mcp }
identity:
  issuers:
    - { name: gh, issuer: ${issuer.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
connections:
  - { name: tools, type: mcp, upstream: ${server.url}, credential: { ref: mcp-key, inject: bearer } }
secrets:
  - { ref: mcp-key, source: env, env: BENCH_MCP_KEY }
policy:
  default: deny
  rules:
    - { name: no-delete, actions: ['mcp.tools.call'], when: "attrs.tool.startsWith('delete_')", decision: deny }
    - { name: mcp-ok, actions: ['mcp.*', 'mcp.*.*'], decision: allow }
`,
  env: {},
});
const backends = await startBackends({ natsUrl: nats.url, name: 'bench-mcp' }, config, { BENCH_MCP_KEY: mcpKey });
const proxy = await startProxy(backends.bus, config, createLogger({ name: 'proxy', level: 'error', destination: { write: () => {} } }), {
  host: '127.0.0.1',
  port: 0,
});
const token = await issuer.mint(githubClaims({ repository: 'acme/app' }));
try {
  const direct = await roundTrips(server.url, `Bearer ${mcpKey}`);
  const gateway = await roundTrips(`${proxy.url}/tools`, `Bearer ${token}`);
  const row = (name: string, s: number[]) => `${name.padEnd(10)} p50 ${pct(s, 50).toFixed(2)} ms   p99 ${pct(s, 99).toFixed(2)} ms`;
  console.log(`MCP tools/call round trip (SDK client → SDK server, SSE answers), ${N} sequential calls after ${WARM} warm-up`);
  console.log(row('direct', direct));
  console.log(row('gateway', gateway));
  console.log(
    `added      p50 +${(pct(gateway, 50) - pct(direct, 50)).toFixed(2)} ms   p99 +${(pct(gateway, 99) - pct(direct, 99)).toFixed(2)} ms (durable audit on nats-server: requested + completed per call)`,
  );
} finally {
  await proxy.close();
  await backends.stop();
  await server.close();
  await issuer.close();
  await nats.close();
}
