import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '@agentgate/events';
import { eventually, type LlmHarness, startLlmHarness } from './llm-harness.js';

const bash = (id: string, command: string) => ({ id, name: 'bash', arguments: { command } });

async function exchange(h: LlmHarness, base: string, token: string, calls: ReturnType<typeof bash>[]): Promise<void> {
  h.double.script(() => ({ text: 'ok', toolCalls: calls }));
  const res = await fetch(`${base}/openai/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'next step?' }] }),
  });
  assert.equal(res.status, 200);
  await res.text();
}

async function action(base: string, token: string, method: string, path: string): Promise<void> {
  const res = await fetch(`${base}/api${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  await res.text();
}

async function requested(h: LlmHarness, session: string, kind: string, nth = 0): Promise<AuditEvent> {
  return eventually(async () => {
    const evs = (await h.events()).filter((e) => e.agentgate.session.id === session && e.event.action === kind && e.agentgate.action.phase === 'requested');
    return evs[nth];
  }, `requested ${kind}`);
}

describe('correlation of actions with llm exchanges', () => {
  let h: LlmHarness;
  before(async () => {
    h = await startLlmHarness();
  });
  after(async () => {
    await h?.close();
  });

  test('correlate - an action links to the exchange whose tool call matches it, even when a later exchange exists', async () => {
    const token = await h.token('201');
    const { sessionId } = await h.bus.request<{ sessionId: string }>('identity.verify', { token });
    await exchange(h, h.proxy.url, token, [bash('call_deploy', 'curl -X POST "$API/deployments" -d @payload.json')]);
    await exchange(h, h.proxy.url, token, [bash('call_readme', 'cat README.md')]);
    await exchange(h, h.proxy.url, token, []);
    const exchanges = (await h.events()).filter(
      (e) => e.agentgate.session.id === sessionId && e.event.action === 'llm.exchange' && e.agentgate.action.phase === 'requested',
    );
    assert.equal(exchanges.length, 3);
    await action(h.proxy.url, token, 'POST', '/deployments');
    const deploy = await requested(h, sessionId, 'http.post');
    assert.deepEqual(deploy.agentgate.link, { exchange_id: exchanges[0]?.agentgate.action.id, rule: 'tool-call-match' });
    assert.equal(deploy.gen_ai?.tool?.call?.id, 'call_deploy');
    // Nothing proposed this one: the latest exchange before it.
    await action(h.proxy.url, token, 'GET', '/status');
    const status = await requested(h, sessionId, 'http.get');
    assert.deepEqual(status.agentgate.link, { exchange_id: exchanges[2]?.agentgate.action.id, rule: 'latest-exchange' });
  });

  test('correlate - another proxy replica sees the session exchanges (shared bus KV)', async () => {
    const replica = await h.replica();
    const token = await h.token('202');
    const { sessionId } = await h.bus.request<{ sessionId: string }>('identity.verify', { token });
    await exchange(h, h.proxy.url, token, [bash('call_x', 'curl -X DELETE "$API/environments/staging"')]);
    await action(replica.url, token, 'DELETE', '/environments/staging');
    const ev = await requested(h, sessionId, 'http.delete');
    assert.equal(ev.agentgate.link?.rule, 'tool-call-match');
    assert.equal(ev.gen_ai?.tool?.call?.id, 'call_x');
  });

  test('correlate - a session without exchanges has no link, and sessions do not mix', async () => {
    const token = await h.token('203');
    const { sessionId } = await h.bus.request<{ sessionId: string }>('identity.verify', { token });
    await action(h.proxy.url, token, 'POST', '/deployments');
    const ev = await requested(h, sessionId, 'http.post');
    assert.equal(ev.agentgate.link, undefined);
  });
});
