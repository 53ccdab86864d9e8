import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AuditEvent, buildTrail, formatTrail } from '@agentgate/events';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { call, pendingId } from './approvals-harness.js';
import { assertNoSecret } from './harness.js';
import { eventually, type McpHarness, mcpClient, startMcpHarness, Wire } from './mcp-harness.js';

let h: McpHarness;
before(async () => {
  h = await startMcpHarness();
});
after(async () => {
  await h?.close();
});

const textOf = (r: unknown): string => ((r as { content: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('\n');

async function sessionOf(token: string): Promise<string> {
  return (await h.bus.request<{ sessionId: string }>('identity.verify', { token })).sessionId;
}

/** The completed (or failed/denied) event of the session's `nth` action of `kind`. */
async function outcomeOf(session: string, kind: string, phases = ['completed', 'failed', 'denied'], nth = 0): Promise<AuditEvent> {
  return eventually(async () => {
    const evs = (await h.events()).filter((e) => e.agentgate.session.id === session && e.event.action === kind && phases.includes(e.agentgate.action.phase));
    return evs[nth];
  }, `${kind} outcome`);
}

describe('mcp through the gateway (SDK client → gateway → SDK server)', () => {
  test('mcp - tools/list is filtered to what the principal may call; an allowed call runs with the injected credential', async () => {
    const wire = new Wire();
    const token = await h.token('101');
    const session = await sessionOf(token);
    const { client } = await mcpClient(h.proxy.url, 'tools', token, { wire });
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    // delete_repository is denied whatever its arguments: hidden. deploy and merge depend on arguments: listed.
    assert.deepEqual(names, ['crash', 'deploy', 'get_config', 'long_task', 'merge_pull_request', 'read_file']);
    const before = h.sse.calls.length;
    const r = await client.callTool({ name: 'read_file', arguments: { path: 'README.md' } });
    assert.equal(textOf(r), 'contents of README.md: hello');
    assert.equal(h.sse.calls.length, before + 1);
    assert.ok(
      h.sse.authSeen.every((a) => a === `Bearer ${h.mcpKey}`),
      'the server only ever saw the gateway credential',
    );
    const list = await outcomeOf(session, 'mcp.tools.list');
    assert.deepEqual(list.agentgate.mcp?.tools, { listed: 6, hidden: 1, hidden_names: ['delete_repository'] });
    const done = await outcomeOf(session, 'mcp.tools.call');
    assert.equal(done.agentgate.action.phase, 'completed');
    assert.equal(done.event.outcome, 'success');
    assert.equal(done.gen_ai?.tool?.name, 'read_file');
    assert.equal(done.gen_ai?.tool?.name, 'read_file');
    assert.equal(done.agentgate.mcp?.arguments, '{"path":"README.md"}');
    assert.match(String(done.agentgate.mcp?.result), /contents of README\.md/);
    assert.equal(done.agentgate.mcp?.complete, true);
    assert.ok((done.event.duration ?? 0) > 0);
    await client.close();
    assertNoSecret(wire.text(), h.mcpKey, 'mcp client');
  });

  test('mcp - a denied call is a JSON-RPC error naming the rule, and the server never sees it', async () => {
    const token = await h.token('102');
    const session = await sessionOf(token);
    const { client } = await mcpClient(h.proxy.url, 'tools', token);
    const before = h.sse.calls.length;
    const err = await client.callTool({ name: 'deploy', arguments: { env: 'prod' } }).then(
      () => assert.fail('the call was not denied'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof McpError, String(err));
    assert.equal(err.code, -32003);
    assert.match(err.message, /no-prod-deploy/);
    assert.match(err.message, /release pipeline/);
    assert.deepEqual(
      { code: (err.data as { code: string }).code, rule: (err.data as { rule: string }).rule },
      { code: 'ERR_POLICY_DENIED', rule: 'no-prod-deploy' },
    );
    // A hidden tool called anyway is decided and denied too.
    const hidden = await client.callTool({ name: 'delete_repository', arguments: { name: 'app' } }).catch((e: unknown) => e);
    assert.ok(hidden instanceof McpError && /no-destructive-tools/.test(hidden.message));
    // The same tool with other arguments is allowed.
    assert.equal(textOf(await client.callTool({ name: 'deploy', arguments: { env: 'staging' } })), 'deployed to staging');
    assert.deepEqual(
      h.sse.calls.slice(before).map((c) => c.tool),
      ['deploy'],
    );
    const denied = await outcomeOf(session, 'mcp.tools.call', ['denied']);
    assert.equal(denied.rule?.name, 'no-prod-deploy');
    assert.equal(denied.agentgate.mcp?.arguments, '{"env":"prod"}');
    await client.close();
  });

  test('mcp - a held call waits for an approver, then runs', async () => {
    const token = await h.token('103');
    const session = await sessionOf(token);
    const { client } = await mcpClient(h.proxy.url, 'tools', token);
    const before = h.sse.calls.length;
    const pending = client.callTool({ name: 'merge_pull_request', arguments: { number: 7, base: 'main' } });
    const approver = await h.approverToken();
    const id = await pendingId(h.proxy.url, approver);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(h.sse.calls.length, before, 'nothing reaches the server while held');
    const shown = await call(h.proxy.url, 'GET', `/_agentgate/approvals/${id}`, approver);
    const rec = shown.json.approval as { rule: string; binding: { kind: string; attributes: { tool: string; arguments: { base: string } } } };
    assert.equal(rec.binding.kind, 'mcp.tools.call');
    assert.equal(rec.rule, 'merge-main-review');
    // The approver sees the tool and its (masked) arguments: what exactly is released.
    assert.deepEqual([rec.binding.attributes.tool, rec.binding.attributes.arguments.base], ['merge_pull_request', 'main']);
    const ok = await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id}/approve`, approver, { reason: 'reviewed' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(textOf(await pending), 'merged #7 into main');
    assert.equal(h.sse.calls.length, before + 1);
    const phases = await eventually(async () => {
      const p = (await h.events()).filter((e) => e.agentgate.action.id === id).map((e) => e.agentgate.action.phase);
      return p.includes('completed') ? p : undefined;
    }, 'completed phases');
    assert.deepEqual(phases, ['held', 'approved', 'requested', 'completed']);
    // A rejected one comes back as the call's JSON-RPC error.
    const rejected = client.callTool({ name: 'merge_pull_request', arguments: { number: 8, base: 'main' } }).catch((e: unknown) => e);
    const id2 = await pendingId(h.proxy.url, approver);
    await call(h.proxy.url, 'POST', `/_agentgate/approvals/${id2}/reject`, approver, { reason: 'not now' });
    const err = await rejected;
    assert.ok(err instanceof McpError, String(err));
    assert.equal(err.code, -32003);
    assert.match(err.message, /not now/);
    assert.equal((await outcomeOf(session, 'mcp.tools.call', ['rejected'])).agentgate.action.id, id2);
    await client.close();
  });

  test('mcp - a secret in a tool result is masked for the client and in the record (JSON and SSE servers)', async () => {
    for (const connection of ['tools', 'tools-json']) {
      const wire = new Wire();
      const token = await h.token(connection === 'tools' ? '104' : '105');
      const session = await sessionOf(token);
      const { client } = await mcpClient(h.proxy.url, connection, token, { wire });
      const r = await client.callTool({ name: 'get_config', arguments: {} });
      const text = textOf(r);
      assert.ok(!text.includes(h.dbPassword), `${connection}: the password reached the client`);
      assert.match(text, /postgres:\/\/app:\[REDACTED[^\]]*\]@db/);
      const done = await outcomeOf(session, 'mcp.tools.call');
      assert.ok(!JSON.stringify(done).includes(h.dbPassword), `${connection}: the password is in the record`);
      assert.match(String(done.agentgate.mcp?.result), /REDACTED/);
      assert.ok((done.agentgate.masking?.count ?? 0) >= 1);
      assert.ok(done.agentgate.masking?.findings.some((f) => f.ref === 'db-password'));
      await client.close();
      assert.ok(!wire.text().includes(h.dbPassword));
      assertNoSecret(wire.text(), h.mcpKey, connection);
    }
  });

  test('mcp - SSE progress streams through as it comes, then the result', async () => {
    const token = await h.token('106');
    const session = await sessionOf(token);
    const { client } = await mcpClient(h.proxy.url, 'tools', token);
    const progress: number[] = [];
    const r = await client.callTool({ name: 'long_task', arguments: { steps: 4 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
    assert.deepEqual(progress, [1, 2, 3, 4]);
    assert.equal(textOf(r), 'done in 4 steps');
    const done = await outcomeOf(session, 'mcp.tools.call');
    assert.equal(done.agentgate.mcp?.events, 5);
    await client.close();
  });

  test('mcp - a session resumes with its Mcp-Session-Id; another principal cannot use it', async () => {
    const token = await h.token('107');
    const first = await mcpClient(h.proxy.url, 'tools', token);
    const sessionId = first.transport.sessionId;
    assert.ok(sessionId);
    // A new client (the agent restarted) resumes the session without initializing again.
    const again = await mcpClient(h.proxy.url, 'tools', token, { sessionId });
    assert.equal(textOf(await again.client.callTool({ name: 'read_file', arguments: { path: 'a.txt' } })), 'contents of a.txt: hello');
    const other = await h.token('999', 'acme/other');
    const res = await fetch(`${h.proxy.url}/tools`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${other}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { id: number; error: { code: number; data: { code: string } } };
    assert.deepEqual([body.id, body.error.code, body.error.data.code], [1, -32004, 'ERR_MCP_SESSION_UNKNOWN']);
    await again.transport.terminateSession();
    // Ended: the session id is unknown now, even to its owner.
    const ended = await fetch(`${h.proxy.url}/tools`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    assert.equal(ended.status, 404);
    await first.client.close();
  });

  test('mcp - an MCP call is linked to the llm exchange whose tool call proposed it, and the trail shows it', async () => {
    const token = await h.token('108');
    const session = await sessionOf(token);
    h.double.script(() => ({ text: '', toolCalls: [{ id: 'call_readme', name: 'mcp__tools__read_file', arguments: { path: 'docs/guide.md' } }] }));
    const res = await fetch(`${h.proxy.url}/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Summarise the guide.' }] }),
    });
    assert.equal(res.status, 200);
    await res.text();
    const { client } = await mcpClient(h.proxy.url, 'tools', token);
    await client.callTool({ name: 'read_file', arguments: { path: 'docs/guide.md' } });
    const done = await outcomeOf(session, 'mcp.tools.call');
    const exchange = await outcomeOf(session, 'llm.exchange');
    assert.deepEqual(done.agentgate.link, { exchange_id: exchange.agentgate.action.id, rule: 'tool-call-match' });
    assert.equal(done.gen_ai?.tool?.call?.id, 'call_readme');
    await client.close();
    const steps = buildTrail((await h.events()).filter((e) => e.agentgate.session.id === session));
    const text = formatTrail(session, steps).join('\n');
    assert.match(text, /prompt: "Summarise the guide\."/);
    assert.match(text, /tool call mcp__tools__read_file \[call_readme\]/);
    assert.match(text, /mcp\.tools\.call read_file .*completed/);
    assert.match(text, /proposed by step 1 tool call call_readme \(tool-call-match\)/);
    assert.match(text, /result: .*contents of docs\/guide\.md/);
  });
});
