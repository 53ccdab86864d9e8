import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { type Gateway, startGateway } from '@agentgate/cli';
import { loadConfig } from '@agentgate/config';
import { freePort } from '@agentgate/testkit';
import OpenAI from 'openai';
import { type DemoWorld, startDemoWorld } from '@agentgate/demo';

const bash = { id: 'call_1', name: 'bash', arguments: { command: 'git push --force origin main' } };

describe('official openai and @anthropic-ai/sdk clients through the gateway (model double)', () => {
  let w: DemoWorld;
  let gw: Gateway;
  let token: string;
  before(async () => {
    w = await startDemoWorld();
    Object.assign(process.env, w.secretEnv);
    const port = await freePort();
    const config = loadConfig({
      env: {},
      text: `
gateway: { listen: { host: 127.0.0.1, port: ${port} } }
bus: { dataDir: ${w.dir.path}/data }
log: { level: warn }
identity:
  issuers: [{ name: ci, issuer: ${w.issuer.issuer}, audiences: [agentgate], profile: github-actions, algorithms: [RS256] }]
connections:
  - { name: openai, type: llm, upstream: '${w.double.url}/v1', credential: { ref: model-key, inject: bearer }, options: { provider: openai } }
  - { name: anthropic, type: llm, upstream: '${w.double.url}', credential: { ref: model-key, inject: header, header: x-api-key }, options: { provider: anthropic } }
secrets:
  - { ref: model-key, source: env, env: DEMO_MODEL_KEY }
  - { ref: db-password, source: env, env: DEMO_DB_PASSWORD }
audit: { sinks: [{ type: local, path: ${w.dir.path}/audit }] }
policy: { default: deny, rules: [{ name: llm-ok, actions: ['llm.*'], decision: allow }] }
`,
    });
    gw = await startGateway(config);
    token = await w.token();
  });
  after(async () => {
    await gw?.stop();
    await w?.close();
  });

  const clean = (from: number) => {
    const seen = w.double.requests.slice(from);
    assert.ok(seen.length > 0, 'the double was called');
    for (const r of seen) {
      assert.ok(!r.raw.includes(w.dbPassword), 'the secret in the prompt never reaches the model');
      assert.ok(!r.raw.includes(token) && !JSON.stringify(r.headers).includes(token), 'the CI token never reaches the model');
    }
  };

  for (const stream of [false, true]) {
    test(`llm clients - openai chat completions (${stream ? 'streaming' : 'JSON'})`, async () => {
      w.double.script(() => ({ text: 'ok, pushing', toolCalls: [bash] }));
      const n = w.double.requests.length;
      const client = new OpenAI({ apiKey: token, baseURL: `${gw.url}/openai`, maxRetries: 0 });
      const messages = [{ role: 'user' as const, content: `password is ${w.dbPassword}; push please` }];
      let text = '';
      let args = '';
      if (stream) {
        for await (const c of await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })) {
          text += c.choices[0]?.delta.content ?? '';
          for (const t of c.choices[0]?.delta.tool_calls ?? []) args += t.function?.arguments ?? '';
        }
      } else {
        const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
        text = r.choices[0]?.message.content ?? '';
        const call = r.choices[0]?.message.tool_calls?.[0];
        args = call?.type === 'function' ? call.function.arguments : '';
      }
      assert.equal(text, 'ok, pushing');
      assert.deepEqual(JSON.parse(args), bash.arguments);
      clean(n);
    });

    test(`llm clients - openai responses (${stream ? 'streaming' : 'JSON'})`, async () => {
      w.double.script(() => ({ text: 'done' }));
      const n = w.double.requests.length;
      const client = new OpenAI({ apiKey: token, baseURL: `${gw.url}/openai`, maxRetries: 0 });
      const input = `use ${w.dbPassword}`;
      let text = '';
      if (stream) {
        for await (const e of await client.responses.create({ model: 'gpt-4o-mini', input, stream: true }))
          if (e.type === 'response.output_text.delta') text += e.delta;
      } else {
        text = (await client.responses.create({ model: 'gpt-4o-mini', input })).output_text;
      }
      assert.equal(text, 'done');
      clean(n);
    });

    test(`llm clients - anthropic messages (${stream ? 'streaming' : 'JSON'})`, async () => {
      w.double.script(() => ({ text: 'sure', toolCalls: [bash] }));
      const n = w.double.requests.length;
      // The agent authenticates with its CI token as a bearer token; it holds no Anthropic key.
      const client = new Anthropic({ apiKey: null, authToken: token, baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
      const params = { model: 'claude-haiku', max_tokens: 100, messages: [{ role: 'user' as const, content: `pw ${w.dbPassword}` }] };
      const msg = stream ? await client.messages.stream(params).finalMessage() : await client.messages.create(params);
      const textBlock = msg.content.find((b) => b.type === 'text');
      const tool = msg.content.find((b) => b.type === 'tool_use');
      assert.equal(textBlock?.type === 'text' ? textBlock.text : undefined, 'sure');
      assert.deepEqual(tool?.type === 'tool_use' ? tool.input : undefined, bash.arguments);
      clean(n);
      assert.equal(w.double.requests.at(-1)?.headers['x-api-key'], w.secretEnv.DEMO_MODEL_KEY, 'the gateway injected its key');
    });
  }
});
