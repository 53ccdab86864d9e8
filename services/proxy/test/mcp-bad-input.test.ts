import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, type McpHarness, mcpClient, startMcpHarness } from './mcp-harness.js';

let h: McpHarness;
before(async () => {
  h = await startMcpHarness();
});
after(async () => {
  await h?.close();
});

interface RpcErrorBody {
  jsonrpc: string;
  id: unknown;
  error: { code: number; message: string; data: { code: string; rule?: string } };
}

async function post(
  token: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: RpcErrorBody | RpcErrorBody[]; text: string }> {
  const res = await fetch(`${h.proxy.url}/tools`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body,
  });
  const text = await res.text();
  let json: RpcErrorBody | RpcErrorBody[];
  try {
    json = JSON.parse(text) as RpcErrorBody;
  } catch {
    json = { jsonrpc: '', id: undefined, error: { code: 0, message: text, data: { code: '' } } };
  }
  return { status: res.status, json, text };
}

const eventCount = async (): Promise<number> => (await h.events()).length;

describe('mcp bad input', () => {
  test('mcp bad input - malformed JSON-RPC gets a clear JSON-RPC error, nothing recorded or forwarded', async () => {
    const token = await h.token('301');
    const events = await eventCount();
    const calls = h.sse.calls.length;
    const notJson = await post(token, '{"jsonrpc":"2.0","id":1,"method":');
    assert.equal(notJson.status, 400);
    assert.deepEqual(
      [(notJson.json as RpcErrorBody).id, (notJson.json as RpcErrorBody).error.code, (notJson.json as RpcErrorBody).error.data.code],
      [null, -32700, 'ERR_MCP_MALFORMED'],
    );
    const cases: Array<[string, number]> = [
      ['{"jsonrpc":"1.0","id":1,"method":"tools/list"}', -32600],
      ['{"jsonrpc":"2.0","id":{"x":1},"method":"tools/list"}', -32600],
      ['{"jsonrpc":"2.0","id":1,"method":42}', -32600],
      ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1,2]}', -32600],
      ['[]', -32600],
      ['"hello"', -32600],
      [JSON.stringify(Array.from({ length: 65 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' }))), -32600],
      [`${'['.repeat(100)}${']'.repeat(100)}`, -32600],
    ];
    for (const [body, code] of cases) {
      const r = await post(token, body);
      assert.equal(r.status, 400, body.slice(0, 40));
      assert.equal((r.json as RpcErrorBody).error.code, code, body.slice(0, 40));
    }
    // A request id that can be read is named in the error.
    const named = await post(token, '{"jsonrpc":"1.0","id":7,"method":"tools/list"}');
    assert.equal((named.json as RpcErrorBody).id, 7);
    assert.equal(await eventCount(), events, 'bad input is not an action: nothing recorded');
    assert.equal(h.sse.calls.length, calls);
  });

  test('mcp bad input - an oversized message is refused with a JSON-RPC error (413), never forwarded', async () => {
    const token = await h.token('302');
    const { transport } = await mcpClient(h.proxy.url, 'tools', token);
    const sid = transport.sessionId as string;
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_file', arguments: { path: 'x'.repeat(70_000) } } });
    const r = await post(token, big, { 'mcp-session-id': sid });
    assert.equal(r.status, 413);
    assert.deepEqual([(r.json as RpcErrorBody).error.code, (r.json as RpcErrorBody).error.data.code], [-32600, 'ERR_BODY_TOO_LARGE']);
    await transport.close();
  });

  test('mcp bad input - unknown, malformed and missing session ids', async () => {
    const token = await h.token('303');
    const unknown = await post(token, '{"jsonrpc":"2.0","id":3,"method":"tools/list"}', { 'mcp-session-id': 'no-such-session' });
    assert.equal(unknown.status, 404);
    assert.deepEqual(
      [(unknown.json as RpcErrorBody).id, (unknown.json as RpcErrorBody).error.code, (unknown.json as RpcErrorBody).error.data.code],
      [3, -32004, 'ERR_MCP_SESSION_UNKNOWN'],
    );
    // No session id: nothing to ride on, passed on; the stateful server refuses it itself.
    const missing = await post(token, '{"jsonrpc":"2.0","id":4,"method":"tools/list"}');
    assert.equal(missing.status, 400);
    const bad = await post(token, '{"jsonrpc":"2.0","id":5,"method":"tools/list"}', { 'mcp-session-id': 'has space' });
    assert.equal(bad.status, 400);
    const get = await fetch(`${h.proxy.url}/tools`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'mcp-session-id': 'nope' } });
    assert.equal(get.status, 404);
    await get.text();
    const noAuth = await fetch(`${h.proxy.url}/tools`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"initialize"}',
    });
    assert.equal(noAuth.status, 401);
    assert.equal(((await noAuth.json()) as RpcErrorBody).error.data.code, 'ERR_AUTH_MISSING');
  });

  test('mcp bad input - a batch is decided all-or-nothing: one denied message stops every one', async () => {
    const token = await h.token('304');
    const { transport } = await mcpClient(h.proxy.url, 'tools', token);
    const sid = transport.sessionId as string;
    const calls = h.sse.calls.length;
    const batch = [
      { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'read_file', arguments: { path: 'ok' } } },
      { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'deploy', arguments: { env: 'prod' } } },
    ];
    const r = await post(token, JSON.stringify(batch), { 'mcp-session-id': sid });
    assert.equal(r.status, 200);
    const list = r.json as RpcErrorBody[];
    assert.deepEqual(
      list.map((x) => x.id),
      ['a', 'b'],
    );
    assert.equal(list[1]?.error.data.rule, 'no-prod-deploy');
    assert.match(String(list[0]?.error.message), /not sent: message 2 of the batch was denied/);
    assert.equal(h.sse.calls.length, calls, 'nothing of the batch reached the server');
    await transport.close();
  });

  test('mcp bad input - an upstream that drops the stream: the client sees the break, the call is recorded as failed', async () => {
    const token = await h.token('305');
    const { sessionId } = await h.bus.request<{ sessionId: string }>('identity.verify', { token });
    const { client, transport } = await mcpClient(h.proxy.url, 'tools', token);
    const errors: string[] = [];
    transport.onerror = (e) => errors.push(String(e));
    const r = await client.callTool({ name: 'crash', arguments: {} }, undefined, { timeout: 3000 }).then(
      () => 'answered',
      (e: unknown) => String(e),
    );
    assert.notEqual(r, 'answered');
    const failed = await eventually(async () => {
      const evs = (await h.events()).filter(
        (e) => e.agentgate.session.id === sessionId && e.event.action === 'mcp.tools.call' && e.agentgate.action.phase !== 'requested',
      );
      return evs[0];
    }, 'the crash outcome');
    assert.equal(failed.agentgate.action.phase, 'failed');
    assert.equal(failed.event.outcome, 'failure');
    assert.match(String(failed.event.reason), /upstream/);
    assert.equal(failed.agentgate.mcp?.complete, false);
    assert.equal(failed.gen_ai?.tool?.name, 'crash');
    await client.close();
  });
});
