#!/usr/bin/env node
// Calls one tool of an MCP server named in the mcpServers file `agentgate ci env` wrote
// ($AGENTGATE_MCP_CONFIG), with the official MCP SDK, the way an agent's MCP client would:
//   node examples/mcp-call.mjs SERVER TOOL '{"arg":"value"}'
// The file holds no token: its Authorization header names ${AGENTGATE_TOKEN}, expanded here from
// the environment (as MCP clients that read mcpServers files do). Exit 1 when the call is refused.
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [server, tool, json = '{}'] = process.argv.slice(2);
if (!server || !tool) {
  console.error('usage: node examples/mcp-call.mjs SERVER TOOL [JSON_ARGUMENTS]');
  process.exit(2);
}
const file = process.env.AGENTGATE_MCP_CONFIG;
if (!file) {
  console.error('AGENTGATE_MCP_CONFIG is not set (run `agentgate ci env --connection mcp:NAME` first)');
  process.exit(2);
}
const entry = JSON.parse(readFileSync(file, 'utf8')).mcpServers?.[server];
if (!entry) {
  console.error(`no MCP server "${server}" in ${file}`);
  process.exit(2);
}
const expand = (v) => v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name) => process.env[name] ?? '');
const headers = Object.fromEntries(Object.entries(entry.headers ?? {}).map(([k, v]) => [k, expand(String(v))]));

const client = new Client({ name: 'agentgate-example', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(entry.url), { requestInit: { headers } }));
try {
  const result = await client.callTool({ name: tool, arguments: JSON.parse(json) });
  const text = (result.content ?? []).map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
  if (result.isError) {
    console.error(`tool ${tool} failed: ${text}`);
    process.exitCode = 1;
  } else console.log(text);
} catch (err) {
  console.error(`tool ${tool} refused: ${err.message}`);
  process.exitCode = 1;
} finally {
  await client.close();
}
