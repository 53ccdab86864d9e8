import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy } from '@agentgate/policy';
import { createMasker } from '@agentgate/masking';
import fc from 'fast-check';
import { ProxyError } from '../../errors.js';
import { messageAction } from './actions.js';
import { McpRefusal } from './errors.js';
import { parseBody, toMessage } from './jsonrpc.js';
import { canonical, namesTool, pickToolLink } from './match.js';
import { renderMcpError } from './render.js';
import { formatEvent, parseEvent, SseSplitter } from './sse-events.js';
import { filterTools } from './tools-filter.js';

const principal = {
  issuer: 'https://issuer.example',
  subject: 'repo:acme/app',
  groups: ['acme-ci'],
  claims: {},
  ci: { provider: 'github-actions' as const },
  sessionId: 's1',
  expiresAt: 0,
};

test('mcp jsonrpc - requests, notifications, responses and batches; bad shapes are -32600/-32700', () => {
  assert.equal(toMessage({ jsonrpc: '2.0', id: 1, method: 'tools/list' }).type, 'request');
  assert.equal(toMessage({ jsonrpc: '2.0', method: 'notifications/initialized' }).type, 'notification');
  assert.equal(toMessage({ jsonrpc: '2.0', id: 'x', result: {} }).type, 'response');
  assert.equal(parseBody('[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"}]').messages.length, 2);
  const code = (text: string): number => {
    try {
      parseBody(text);
    } catch (err) {
      assert.ok(err instanceof McpRefusal);
      return err.rpcCode;
    }
    return 0;
  };
  assert.equal(code('{'), -32700);
  assert.equal(code('{"jsonrpc":"2.0","id":null,"method":"x"}'), -32600);
  assert.equal(code('{"jsonrpc":"2.0","id":1.5,"method":"x"}'), -32600);
  assert.equal(code('{"jsonrpc":"2.0","id":1,"result":{},"error":{}}'), -32600);
  assert.equal(code('{"jsonrpc":"2.0","id":1}'), -32600);
  assert.equal(code('[]'), -32600);
  // The error never echoes the input (it may hold a secret).
  try {
    parseBody('{"jsonrpc":"1.0","id":1,"method":"ghp_secretsecretsecretsecretsecret00"}');
  } catch (err) {
    assert.ok(!(err as Error).message.includes('ghp_'));
  }
});

test('mcp actions - kinds and attributes; arguments masked, protocol ids kept', () => {
  const masker = createMasker().withSecrets([{ ref: 'db', value: 'hunter2-very-secret' }]);
  const a = messageAction(
    toMessage({ jsonrpc: '2.0', id: 'call-1', method: 'tools/call', params: { name: 'query', arguments: { sql: 'x', password: 'hunter2-very-secret' } } }),
    masker,
  );
  assert.equal(a.kind, 'mcp.tools.call');
  assert.equal(a.attributes.tool, 'query');
  assert.equal(a.attributes.id, 'call-1');
  assert.ok(!JSON.stringify(a.masked).includes('hunter2'));
  assert.ok(!JSON.stringify(a.attributes).includes('hunter2'));
  assert.equal(a.findings.length > 0, true);
  assert.equal(messageAction(toMessage({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'file:///a' } }), masker).attributes.uri, 'file:///a');
  assert.equal(messageAction(toMessage({ jsonrpc: '2.0', id: 3, method: 'sampling/whatever' }), masker).kind, 'mcp.request');
  assert.equal(messageAction(toMessage({ jsonrpc: '2.0', method: 'notifications/cancelled' }), masker).kind, 'mcp.notification');
  assert.deepEqual(messageAction(toMessage({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 't' } }), masker).attributes.arguments, {});
});

test('mcp tools filter - hides tools denied whatever their arguments, keeps argument-dependent ones', () => {
  const policy = compilePolicy({
    default: 'deny',
    rules: [
      { name: 'no-delete', actions: ['mcp.tools.call'], when: "attrs.tool.startsWith('delete_')", decision: 'deny' },
      { name: 'no-prod', actions: ['mcp.tools.call'], when: "attrs.tool == 'deploy' && attrs.arguments.env == 'prod'", decision: 'deny' },
      { name: 'ok', actions: ['mcp.*', 'mcp.*.*'], when: "attrs.tool != 'secret_tool'", decision: 'allow' },
    ],
  });
  const tools = ['read', 'delete_repo', 'deploy', 'secret_tool'].map((name) => ({ name, inputSchema: { type: 'object' } }));
  const f = filterTools(policy, principal, 'c', { tools, nextCursor: 'n' });
  assert.deepEqual(
    (f.result.tools as Array<{ name: string }>).map((t) => t.name),
    ['read', 'deploy'],
  );
  assert.deepEqual(f.hidden, ['delete_repo', 'secret_tool']);
  assert.equal(f.result.nextCursor, 'n');
  // Without certainDenial (a fake policy) nothing is hidden.
  assert.equal(filterTools({ decide: () => ({ effect: 'deny', rule: null, reason: '' }) }, principal, 'c', { tools }).hidden.length, 0);
});

test('mcp sse - events split the same for any chunking; rewritten events keep their id lines', () => {
  const events = ['id: 1\nevent: message\ndata: {"a":1}\n\n', ': keep-alive\n\n', 'id: 2\r\ndata: {"b":\r\ndata: 2}\r\n\r\n', 'data: x\r\rdata: y\n\n'];
  const whole = events.join('');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: whole.length - 1 }), { maxLength: 8 }), (cuts) => {
      const at = [...new Set(cuts)].sort((a, b) => a - b);
      const s = new SseSplitter(1024);
      const out: string[] = [];
      let prev = 0;
      for (const c of [...at, whole.length]) {
        out.push(...s.push(Buffer.from(whole.slice(prev, c))).map((b) => b.toString()));
        prev = c;
      }
      assert.equal(out.join(''), whole);
      assert.equal(out.length, 5);
      assert.equal(s.rest().length, 0);
    }),
  );
  const f = parseEvent('id: 2\r\ndata: {"b":\r\ndata: 2}\r\n\r\n');
  assert.deepEqual(f, { other: ['id: 2'], data: '{"b":\n2}' });
  assert.equal(formatEvent({ other: f.other, data: '{"b":2}' }), 'id: 2\ndata: {"b":2}\n\n');
  assert.throws(() => new SseSplitter(10).push(Buffer.from('data: 0123456789abc')), RangeError);
});

test('mcp match - prefixed tool names and canonical arguments link the call to its exchange', () => {
  assert.ok(namesTool('mcp__github__create_issue', 'create_issue'));
  assert.ok(namesTool('github.create_issue', 'create_issue'));
  assert.ok(!namesTool('recreate_issue', 'create_issue'));
  assert.equal(canonical({ b: [1, { d: 1, c: 2 }], a: 'x' }), '{"a":"x","b":[1,{"c":2,"d":1}]}');
  const exchanges = [
    { id: 'ex1', at: 1, toolCalls: [{ id: 'c1', name: 'mcp__t__read', arguments: '{"path":"a"}' }] },
    { id: 'ex2', at: 2, toolCalls: [{ id: 'c2', name: 'bash', arguments: '{"command":"ls"}' }] },
  ];
  assert.deepEqual(pickToolLink(exchanges, 'read', { path: 'a' }), { exchange_id: 'ex1', tool_call_id: 'c1', rule: 'tool-call-match' });
  assert.deepEqual(pickToolLink(exchanges, 'read', { path: 'b' }), { exchange_id: 'ex2', rule: 'latest-exchange' });
  assert.equal(pickToolLink([], 'read', {}), undefined);
});

test('mcp render - refusals answer each request id; bad input and unknown sessions keep their status', () => {
  const parts = {
    actions: [
      { kind: 'mcp.tools.call', attributes: { id: 5 } },
      { kind: 'mcp.notification', attributes: { method: 'n' } },
    ],
    settle: () => ({}),
  };
  const denied = renderMcpError(new ProxyError('ERR_APPROVAL_REJECTED', 'rejected by ops: no'), {
    connection: 'c',
    requestId: 'r1',
    classification: { kind: 'mcp.tools.call', attributes: {}, parts },
  });
  assert.equal(denied.status, 200);
  const body = JSON.parse(String(denied.body)) as { id: number; error: { code: number; message: string; data: { code: string; requestId: string } } };
  assert.deepEqual([body.id, body.error.code, body.error.data.code, body.error.data.requestId], [5, -32003, 'ERR_APPROVAL_REJECTED', 'r1']);
  const unknown = renderMcpError(new McpRefusal('ERR_MCP_SESSION_UNKNOWN', -32004, 'unknown', { ids: [9] }), { connection: 'c', requestId: 'r2' });
  assert.equal(unknown.status, 404);
  assert.equal((JSON.parse(String(unknown.body)) as { id: number }).id, 9);
  const auth = renderMcpError(new ProxyError('ERR_AUTH_MISSING'), { connection: 'c', requestId: 'r3' });
  assert.equal(auth.status, 401);
  assert.equal((JSON.parse(String(auth.body)) as { id: null }).id, null);
});
