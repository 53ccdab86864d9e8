import { randomBytes } from 'node:crypto';
import type { Bus } from '@agentgate/bus';
import { type Config, loadConfig } from '@agentgate/config';
import { type ModelDouble, startModelDouble } from '@agentgate/demo';
import type { AuditEvent } from '@agentgate/events';
import { createLogger } from '@agentgate/log';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CiIssuer, githubClaims, startCiIssuer, type TempDir, tempDir } from '@agentgate/testkit';
import { type ProxyHandle, startProxy } from '../src/index.js';
import { auditEvents } from './harness.js';
import { closeHarness, startBackends } from './backends.js';
import { startMcpServer, type TestMcpServer } from './mcp-server.js';

export { eventually } from './poll.js';

/**
 * The gateway in front of two real MCP servers (the official SDK; one
 * answering with SSE streams, one with JSON bodies) and a model double:
 * in-process bus, real identity (CI issuer), secret broker, approvals
 * (acme-ci may approve) and proxy.
 */
export interface McpHarness {
  bus: Bus;
  issuer: CiIssuer;
  sse: TestMcpServer;
  json: TestMcpServer;
  double: ModelDouble;
  proxy: ProxyHandle;
  config: Config;
  /** The MCP servers' credential (the gateway injects it; the agent must never see it). */
  mcpKey: string;
  /** A brokered secret one tool returns in its result. */
  dbPassword: string;
  /** A CI token of session run `runId` (repository acme/app). */
  token(runId?: string, repository?: string): Promise<string>;
  /** An approver's token (acme/ops). */
  approverToken(): Promise<string>;
  events(): Promise<AuditEvent[]>;
  close(): Promise<void>;
}

function configText(o: { sse: string; json: string; double: string; issuer: string; dataDir: string }): string {
  return `
gateway: { name: mcp-test, limits: { maxBodyBytes: 1048576 } }
bus: { dataDir: ${o.dataDir} }
identity:
  issuers:
    - { name: gh, issuer: ${o.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }
  groups:
    - name: acme-ci
      when: { repository_owner: acme }
approvals:
  approverGroups: [acme-ci]
  timeoutMs: 20000
connections:
  - name: tools
    type: mcp
    upstream: ${o.sse}
    credential: { ref: mcp-key, inject: bearer }
    options: { maxMessageBytes: 65536 }
  - name: tools-json
    type: mcp
    upstream: ${o.json}
    credential: { ref: mcp-key, inject: bearer }
    options: { filterTools: false }
  - name: openai
    type: llm
    upstream: ${o.double}/v1
    credential: { ref: model-key, inject: bearer }
    options: { provider: openai }
secrets:
  - { ref: mcp-key, source: env, env: MCP_TEST_KEY }
  - { ref: model-key, source: env, env: MCP_TEST_MODEL_KEY }
  - { ref: db-password, source: env, env: MCP_TEST_DB_PASSWORD }
policy:
  default: deny
  rules:
    - name: no-destructive-tools
      actions: ['mcp.tools.call']
      when: "attrs.tool.startsWith('delete_')"
      decision: deny
      reason: destructive tools are not for agents
    - name: no-prod-deploy
      actions: ['mcp.tools.call']
      when: "attrs.tool == 'deploy' && attrs.arguments.env == 'prod'"
      decision: deny
      reason: production deploys go through the release pipeline
    - name: merge-main-review
      actions: ['mcp.tools.call']
      when: "attrs.tool == 'merge_pull_request' && attrs.arguments.base == 'main'"
      decision: review
      reason: merging into main needs a human
    - { name: mcp-ok, actions: ['mcp.*', 'mcp.*.*'], decision: allow }
    - { name: llm-ok, actions: ['llm.*'], decision: allow }
`;
}

export async function startMcpHarness(): Promise<McpHarness> {
  const mcpKey = `mcp-${randomBytes(18).toString('hex')}`;
  const modelKey = `sk-gw-${randomBytes(18).toString('hex')}`;
  const dbPassword = `Pw-${randomBytes(12).toString('base64url')}`;
  const env = { MCP_TEST_KEY: mcpKey, MCP_TEST_MODEL_KEY: modelKey, MCP_TEST_DB_PASSWORD: dbPassword };
  const dir: TempDir = tempDir('mcp-proxy');
  const sse = await startMcpServer({ credential: mcpKey, secretInResult: dbPassword });
  const json = await startMcpServer({ credential: mcpKey, secretInResult: dbPassword, json: true });
  const double = await startModelDouble({ apiKey: modelKey });
  const issuer = await startCiIssuer({ alg: 'RS256' });
  const config = loadConfig({ text: configText({ sse: sse.url, json: json.url, double: double.url, issuer: issuer.issuer, dataDir: dir.path }), env: {} });
  const backends = await startBackends({ dataDir: `${dir.path}/bus`, name: 'mcp-test' }, config, env);
  const logger = createLogger({ name: 'proxy', level: 'warn', destination: { write: () => {} } });
  const proxy = await startProxy(backends.bus, config, logger, { host: '127.0.0.1', port: 0 });
  return {
    bus: backends.bus,
    issuer,
    sse,
    json,
    double,
    proxy,
    config,
    mcpKey,
    dbPassword,
    token: (runId = '8000000001', repository = 'acme/app') => issuer.mint(githubClaims({ repository, run_id: runId })),
    approverToken: () => issuer.mint(githubClaims({ repository: 'acme/ops', run_id: '8000000777', actor: 'release-manager', actor_id: '800001' })),
    events: () => auditEvents(backends.bus),
    close: async () => {
      await closeHarness([proxy], backends, sse, json, double, issuer);
      dir.cleanup();
    },
  };
}

/** Every byte an agent's MCP client received (status lines, headers and bodies), to scan for the credential. */
export class Wire {
  readonly seen: string[] = [];
  /** A fetch for the SDK transport that keeps a copy of each response. */
  readonly fetch = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const res = await fetch(url, init);
    this.seen.push(`${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}`);
    if (!res.body) return res;
    const [a, b] = res.body.tee();
    void (async () => {
      const reader = b.getReader();
      const dec = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          this.seen.push(dec.decode(value, { stream: true }));
        }
      } catch {
        // a cut stream: what arrived is kept
      }
    })();
    return new Response(a, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  text(): string {
    return this.seen.join('\n');
  }
}

/** The SDK client as an agent uses it, pointed at the gateway with its OIDC token as the bearer. */
export async function mcpClient(
  base: string,
  connection: string,
  token: string,
  opts: { wire?: Wire; sessionId?: string } = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/${connection}`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    ...(opts.wire && { fetch: opts.wire.fetch }),
    ...(opts.sessionId !== undefined && { sessionId: opts.sessionId }),
  });
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}
