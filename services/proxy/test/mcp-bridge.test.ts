import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { tempDir, type TempDir } from '@agentgate/testkit';
import { eventually, type McpHarness, startMcpHarness } from './mcp-harness.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

let h: McpHarness;
let dir: TempDir;
before(async () => {
  h = await startMcpHarness();
  dir = tempDir('mcp-bridge');
});
after(async () => {
  await h?.close();
  dir?.cleanup();
});

describe('agentgate mcp-bridge', () => {
  test('mcp-bridge - a stdio MCP client reaches the remote server through the gateway, decided and recorded', async () => {
    const token = await h.token('401');
    const { sessionId } = await h.bus.request<{ sessionId: string }>('identity.verify', { token });
    const tokenFile = `${dir.path}/token`;
    writeFileSync(tokenFile, `${token}\n`);
    const stderr: string[] = [];
    // The agent's configuration for a stdio server: the bridge is the command it starts.
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        '--conditions=agentgate-source',
        '--import',
        'tsx',
        'packages/cli/src/bin.ts',
        'mcp-bridge',
        '--connection',
        'tools',
        '--gateway',
        h.proxy.url,
        '--token-file',
        tokenFile,
      ],
      cwd: root,
      env: { PATH: process.env.PATH ?? '' },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (c: Buffer) => stderr.push(String(c)));
    const client = new Client({ name: 'stdio-agent', version: '1.0.0' });
    await client.connect(transport);
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'read_file'));
    assert.ok(!tools.some((t) => t.name === 'delete_repository'), 'filtered by the gateway');
    const r = (await client.callTool({ name: 'read_file', arguments: { path: 'bridge.md' } })) as { content: Array<{ text: string }> };
    assert.equal(r.content[0]?.text, 'contents of bridge.md: hello');
    const denied = await client.callTool({ name: 'deploy', arguments: { env: 'prod' } }).catch((e: unknown) => e);
    assert.ok(denied instanceof McpError, String(denied));
    assert.match(denied.message, /no-prod-deploy/);
    const secret = (await client.callTool({ name: 'get_config', arguments: {} })) as { content: Array<{ text: string }> };
    assert.ok(!secret.content[0]?.text.includes(h.dbPassword));
    await client.close();
    const done = await eventually(async () => {
      const evs = (await h.events()).filter(
        (e) => e.agentgate.session.id === sessionId && e.event.action === 'mcp.tools.call' && e.agentgate.action.phase === 'completed',
      );
      return evs.length >= 2 ? evs : undefined;
    }, 'the bridged calls on record');
    assert.deepEqual(
      done.map((e) => e.gen_ai?.tool?.name),
      ['read_file', 'get_config'],
    );
    assert.ok(!stderr.join('').includes(h.mcpKey));
  });

  test('mcp-bridge - usage errors exit 2 before touching stdio', async () => {
    const { runCli } = await import('../../../packages/cli/src/cli.js');
    const err: string[] = [];
    const io = { out: () => {}, err: (l: string) => err.push(l) };
    assert.equal(await runCli(['mcp-bridge', '--gateway', 'http://127.0.0.1:1'], io), 2);
    assert.match(err.join('\n'), /--connection NAME is required/);
    assert.equal(await runCli(['mcp-bridge', '--connection', 'tools', '--gateway', 'ftp://x', '--token', 't'], io), 2);
  });
});
