import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMasker } from '@agentgate/masking';
import type { StoredExchange } from './exchange-store.js';
import { ExchangeBody, type ExchangeState, ExchangeObserver, maskExchange } from './observer.js';

const SECRET = 'hunter2-very-secret';
const masker = createMasker().withSecrets([{ ref: 'db', value: SECRET }]);

function state(stored: Array<{ session: string; e: StoredExchange }>): ExchangeState {
  return {
    api: 'chat.completions',
    provider: 'openai',
    llm: { api: 'chat.completions', stream: true, tools: ['run'] },
    genAi: { request: { model: 'm1' }, provider: { name: 'openai' }, operation: { name: 'chat' }, input: { messages: [] } },
    masker,
    sessionId: 'sess',
    actionId: 'act-1',
    exchanges: {
      add: async (session, e) => {
        stored.push({ session, e });
      },
      recent: async () => [],
    },
    started: Date.now(),
  };
}

const sse = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const STREAM = [
  sse({ model: 'm1-2025', choices: [{ delta: { content: 'Hello ' } }] }),
  sse({ choices: [{ delta: { tool_calls: [{ index: 0, id: 'call_1', function: { name: 'run', arguments: `{"pw":"${SECRET}"` } }] } }] }),
  sse({ choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '}' } }] }, finish_reason: 'tool_calls' }] }),
  'data: [DONE]\n\n',
].join('');

test('llm observer - the body stage reads SSE split anywhere, even inside a UTF-8 character', () => {
  const body = new ExchangeBody('chat.completions');
  const bytes = Buffer.from(STREAM.replace('Hello ', 'Hellö '));
  for (let i = 0; i < bytes.length; i += 7) body.push(bytes.subarray(i, i + 7));
  body.end();
  const r = body.result();
  assert.equal(r.completion, 'Hellö ');
  assert.deepEqual(r.toolCalls, [{ id: 'call_1', name: 'run', arguments: `{"pw":"${SECRET}"}` }]);
  assert.equal(r.done, true);
  assert.equal(body.parseFailed, false);
});

test('llm observer - the body stage: a JSON body, an error body, a broken JSON body', () => {
  const ok = new ExchangeBody('chat.completions');
  ok.push(Buffer.from(' {"model":"m","choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}'));
  ok.end();
  assert.deepEqual([ok.result().completion, ok.result().done, ok.errorBody, ok.parseFailed], ['hi', true, false, false]);
  const err = new ExchangeBody('chat.completions');
  err.push(Buffer.from('{"error":{"message":"rate limited"}}'));
  err.end();
  assert.deepEqual([err.errorBody, err.result().done], [true, false]);
  const broken = new ExchangeBody('chat.completions');
  broken.push(Buffer.from('{"choices": ['));
  broken.end();
  assert.equal(broken.parseFailed, true);
});

test('llm observer - the masking stage masks the completion and tool-call arguments, counting findings', () => {
  const m = maskExchange(masker, {
    completion: `pw ${SECRET}`,
    toolCalls: [
      { id: 'c', name: 'run', arguments: '' },
      { id: 'd', name: 'x', arguments: SECRET },
    ],
    done: true,
  });
  assert.ok(!JSON.stringify(m.result).includes(SECRET));
  assert.equal(m.findings, 2);
  assert.equal(m.result.toolCalls[0]?.arguments, '{}', 'empty arguments are an empty object');
});

test('llm observer - a whole exchange: passed through unchanged, stored masked before the end, completed fields', async () => {
  const stored: Array<{ session: string; e: StoredExchange }> = [];
  const o = new ExchangeObserver(state(stored));
  const out: Buffer[] = [];
  o.transform.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((r) => o.transform.on('end', r));
  for (const part of [STREAM.slice(0, 50), STREAM.slice(50)]) o.transform.write(Buffer.from(part));
  o.transform.end();
  await ended;
  assert.equal(Buffer.concat(out).toString(), STREAM, 'every byte goes on to the client');
  assert.equal(stored.length, 1, 'stored before the client saw the end');
  assert.equal(stored[0]?.e.id, 'act-1');
  assert.ok(!JSON.stringify(stored[0]?.e).includes(SECRET));
  const f = o.finish();
  assert.equal(f.llm?.complete, true);
  assert.equal(f.llm?.broken, undefined);
  assert.equal(f.llm?.completion_masked, 1);
  assert.equal(typeof f.llm?.ttfb_ms, 'number');
  assert.deepEqual(f.genAi?.response, { model: 'm1-2025' });
  assert.deepEqual(f.genAi?.tool, { name: ['run'], call: { id: ['call_1'] } });
  assert.equal(f.genAi?.output?.messages[0]?.finish_reason, 'tool_calls');
  assert.equal(stored.length, 1, 'stored once');
});

test('llm observer - a broken stream is recorded incomplete and still stored', async () => {
  const stored: Array<{ session: string; e: StoredExchange }> = [];
  const o = new ExchangeObserver(state(stored));
  o.transform.resume();
  o.transform.write(Buffer.from(STREAM.slice(0, 200)));
  await new Promise((r) => setImmediate(r));
  const f = o.finish();
  assert.deepEqual([f.llm?.complete, f.llm?.broken], [false, true]);
  await new Promise((r) => setImmediate(r));
  assert.equal(stored.length, 1);
  o.transform.destroy();
});
