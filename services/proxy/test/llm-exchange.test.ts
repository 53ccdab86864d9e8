import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AuditEvent, validateEvent } from '@agentgate/events';
import { eventually, type LlmHarness, startLlmHarness } from './llm-harness.js';

const toolCall = (id: string, command: string) => ({ id, name: 'bash', arguments: { command } });

async function post(url: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** The completed (or failed) event of the session's last exchange. */
async function lastExchange(h: LlmHarness, session: string, phase: 'completed' | 'failed' | 'denied' = 'completed'): Promise<AuditEvent> {
  return eventually(async () => {
    const evs = (await h.events()).filter((e) => e.agentgate.session.id === session && e.event.action === 'llm.exchange' && e.agentgate.action.phase === phase);
    return evs.at(-1);
  }, `${phase} llm.exchange event`);
}

/** The completion text of an exchange event (`gen_ai.output.messages`). */
function completionOf(ev: AuditEvent): string {
  const parts = ev.gen_ai?.output?.messages.flatMap((m) => m.parts) ?? [];
  return parts.flatMap((p) => (p.type === 'text' ? [p.content] : [])).join('\n');
}

/** The tool calls of an exchange event (`gen_ai.output.messages` parts). */
function toolCallsOf(ev: AuditEvent): unknown[] {
  return (ev.gen_ai?.output?.messages ?? []).flatMap((m) => m.parts).filter((p) => p.type === 'tool_call');
}

async function sessionOf(h: LlmHarness, token: string): Promise<string> {
  const { sessionId } = await h.bus.request<{ sessionId: string }>('identity.verify', { token });
  return sessionId;
}

describe('llm adapter (model double, in-process bus, real identity and broker)', () => {
  let h: LlmHarness;
  before(async () => {
    h = await startLlmHarness();
  });
  after(async () => {
    await h?.close();
  });

  test('llm - chat completion reaches the model with the gateway key, never the CI token, and is recorded', async () => {
    const token = await h.token('101');
    h.double.script(() => ({ text: 'Run the tests first.', toolCalls: [toolCall('call_1', 'npm test')] }));
    const n = h.double.requests.length;
    const res = await post(`${h.proxy.url}/openai/chat/completions`, token, {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'what next?' }],
      max_tokens: 100,
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(!text.includes(h.apiKey), 'the gateway key never reaches the client');
    const seen = h.double.requests[n];
    assert.ok(seen);
    assert.equal(seen.path, '/v1/chat/completions');
    assert.equal(seen.headers.authorization, `Bearer ${h.apiKey}`);
    assert.ok(!seen.raw.includes(token) && !JSON.stringify(seen.headers).includes(token), 'the CI token is not forwarded');
    const ev = await lastExchange(h, await sessionOf(h, token));
    assert.deepEqual(validateEvent(ev).event.action, 'llm.exchange');
    const llm = ev.agentgate.llm!;
    // ECS: the request's model and limit, the response's model, usage, prompt and completion are gen_ai.*.
    assert.equal(ev.gen_ai?.request?.model, 'gpt-4o-mini');
    assert.equal(ev.gen_ai?.request?.max_tokens, 100);
    assert.equal(completionOf(ev), 'Run the tests first.');
    assert.deepEqual(toolCallsOf(ev), [{ type: 'tool_call', id: 'call_1', name: 'bash', arguments: '{"command":"npm test"}' }]);
    assert.deepEqual(ev.gen_ai?.usage, { input_tokens: 11, output_tokens: 7 });
    assert.deepEqual(ev.gen_ai?.input?.messages[0], { role: 'user', parts: [{ type: 'text', content: 'what next?' }] });
    assert.equal(llm.complete, true);
    assert.equal(typeof llm.latency_ms, 'number');
    assert.deepEqual(ev.gen_ai?.tool?.call?.id, ['call_1']);
    assert.ok(!JSON.stringify(ev).includes(h.apiKey));
  });

  test('llm - a streamed answer reaches the client as it arrives and its tool calls are rebuilt', async () => {
    const token = await h.token('102');
    h.double.script(() => ({ text: 'pushing now, this takes a while', toolCalls: [toolCall('call_s', 'git push origin main')], delayMs: 40 }));
    const started = Date.now();
    const res = await post(`${h.proxy.url}/openai/chat/completions`, token, {
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'push' }],
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now() - started;
    let rest = '';
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      rest += Buffer.from(r.value).toString();
    }
    const total = Date.now() - started;
    assert.ok(!first.done && first.value.length > 0);
    // About 15 events 40 ms apart: the first must arrive long before the last (no buffering of the whole answer).
    assert.ok(total - firstAt > 300, `first chunk after ${firstAt} ms, end after ${total} ms`);
    assert.ok(rest.includes('[DONE]'));
    const ev = await lastExchange(h, await sessionOf(h, token));
    const llm = ev.agentgate.llm!;
    assert.equal(llm.stream, true);
    assert.equal(completionOf(ev), 'pushing now, this takes a while');
    assert.deepEqual(toolCallsOf(ev), [{ type: 'tool_call', id: 'call_s', name: 'bash', arguments: '{"command":"git push origin main"}' }]);
    assert.equal(llm.complete, true);
  });

  test('llm - a secret pasted in a prompt is masked before it leaves and the event counts it', async () => {
    const token = await h.token('103');
    h.double.script(() => ({ text: 'noted' }));
    const n = h.double.requests.length;
    const res = await post(
      `${h.proxy.url}/anthropic/v1/messages`,
      token,
      {
        model: 'claude-haiku',
        max_tokens: 200,
        system: 'You are a CI agent.',
        messages: [{ role: 'user', content: [{ type: 'text', text: `the db password is ${h.dbPassword} and the key ${h.apiKey}` }] }],
      },
      { 'anthropic-version': '2023-06-01' },
    );
    assert.equal(res.status, 200);
    const seen = h.double.requests[n];
    assert.ok(seen);
    assert.ok(!seen.raw.includes(h.dbPassword) && !seen.raw.includes(h.apiKey), 'no brokered secret reaches the model');
    assert.match(seen.raw, /the db password is \[/);
    assert.equal(seen.headers['x-api-key'], h.apiKey);
    const ev = await lastExchange(h, await sessionOf(h, token));
    assert.equal(ev.agentgate.masking?.count, 2);
    assert.deepEqual(ev.agentgate.masking?.findings.map((f) => f.ref).sort(), ['db-password', 'model-key']);
    assert.ok(!JSON.stringify(ev).includes(h.dbPassword));
  });

  test('llm - with promptSecrets: refuse a prompt holding a secret is refused and recorded as denied', async () => {
    const strict = await h.replica({ promptSecrets: 'refuse' });
    const token = await h.token('104');
    const n = h.double.requests.length;
    const res = await post(`${strict.url}/openai/chat/completions`, token, {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `use ${h.dbPassword}` }],
    });
    assert.equal(res.status, 403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'ERR_POLICY_DENIED');
    assert.ok(!body.error.message.includes(h.dbPassword));
    assert.equal(h.double.requests.length, n, 'the model was not called');
    const ev = await lastExchange(h, await sessionOf(h, token), 'denied');
    assert.equal(ev.rule?.name, 'masking.promptSecrets');
    const clean = await post(`${strict.url}/openai/chat/completions`, token, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(clean.status, 200, 'a prompt without secrets passes');
  });

  test('llm - policy acts on the model and the token budget', async () => {
    const token = await h.token('105');
    const n = h.double.requests.length;
    const big = await post(`${h.proxy.url}/openai/chat/completions`, token, { model: 'gpt-5-huge', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(big.status, 403);
    assert.match(((await big.json()) as { error: { message: string } }).error.message, /small-models-only/);
    const greedy = await post(`${h.proxy.url}/openai/chat/completions`, token, {
      model: 'gpt-4o-mini',
      max_tokens: 9000,
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(greedy.status, 403);
    assert.match(((await greedy.json()) as { error: { message: string } }).error.message, /token-budget/);
    assert.equal(h.double.requests.length, n);
  });

  test('llm - a stream that breaks is recorded as failed and marked broken, with what was seen', async () => {
    const token = await h.token('106');
    h.double.script(() => ({ text: 'a long answer that will be cut', breakAfterEvents: 3 }));
    const res = await post(`${h.proxy.url}/openai/chat/completions`, token, {
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'go' }],
    });
    await res.text().catch(() => '');
    const ev = await lastExchange(h, await sessionOf(h, token), 'failed');
    const llm = ev.agentgate.llm!;
    assert.equal(llm.complete, false);
    assert.equal(llm.broken, true);
    // What the client was sent before the cut (the masking stage holds back a short tail it never got to release).
    const completion = completionOf(ev);
    assert.ok(completion.length > 0 && 'a long answer th'.startsWith(completion), completion);
  });

  test('llm - anthropic and responses streams rebuild text, tool calls and usage', async () => {
    const token = await h.token('107');
    const session = await sessionOf(h, token);
    h.double.script(() => ({ text: 'deleting the tag', toolCalls: [toolCall('toolu_1', 'git push --delete origin v1.0')] }));
    const a = await post(`${h.proxy.url}/anthropic/v1/messages`, token, {
      model: 'claude-haiku',
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    await a.text();
    let ev = await lastExchange(h, session);
    assert.equal(completionOf(ev), 'deleting the tag');
    assert.deepEqual(toolCallsOf(ev), [{ type: 'tool_call', id: 'toolu_1', name: 'bash', arguments: '{"command":"git push --delete origin v1.0"}' }]);
    assert.deepEqual(ev.gen_ai?.usage, { input_tokens: 11, output_tokens: 7 });
    assert.equal(ev.gen_ai?.output?.messages[0]?.finish_reason, 'tool_use');
    const r = await post(`${h.proxy.url}/openai/responses`, token, { model: 'gpt-4o-mini', stream: true, input: 'y' });
    await r.text();
    ev = await eventually(async () => {
      const evs = (await h.events()).filter((e) => e.agentgate.session.id === session && e.agentgate.action.phase === 'completed');
      const l = evs.at(-1);
      return l?.agentgate.llm?.api === 'responses' ? l : undefined;
    }, 'responses event');
    assert.equal(completionOf(ev), 'deleting the tag');
    assert.deepEqual(toolCallsOf(ev), [{ type: 'tool_call', id: 'toolu_1', name: 'bash', arguments: '{"command":"git push --delete origin v1.0"}' }]);
  });

  test('llm - a body that is not JSON is refused (it could not be checked for secrets)', async () => {
    const token = await h.token('108');
    const res = await fetch(`${h.proxy.url}/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body: 'not json',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ERR_BAD_REQUEST');
  });
});
