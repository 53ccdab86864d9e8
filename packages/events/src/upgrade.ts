import { ECS_VERSION } from './schema.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/** Sets `o[k1][k2]…` = v when v is defined and the place is still empty (an existing ECS value wins). */
function put(o: Obj, path: string[], v: unknown): void {
  if (v === undefined) return;
  let cur = o;
  for (const k of path.slice(0, -1)) {
    if (!isObj(cur[k])) cur[k] = {};
    cur = cur[k] as Obj;
  }
  const last = path[path.length - 1]!;
  if (cur[last] === undefined) cur[last] = v;
}

function textParts(content: unknown): Array<{ type: 'text'; content: string }> {
  const s = str(content);
  return s === undefined || s === '' ? [] : [{ type: 'text', content: s }];
}

/** Version 1's `agentgate.llm` (an open record) → `gen_ai.*` + the strict `agentgate.llm`. */
function upgradeLlm(ev: Obj, ag: Obj): void {
  const llm = ag['llm'];
  if (!isObj(llm)) return;
  put(ev, ['gen_ai', 'provider', 'name'], str(llm['provider']));
  put(ev, ['gen_ai', 'request', 'max_tokens'], num(llm['max_tokens']));
  // Version 1 wrote the response model into gen_ai.request.model on completed events: the request's is llm.model.
  const genAi = isObj(ev['gen_ai']) ? ev['gen_ai'] : undefined;
  if (str(llm['model']) !== undefined && isObj(genAi?.['request'])) (genAi['request'] as Obj)['model'] = llm['model'];
  else put(ev, ['gen_ai', 'request', 'model'], str(llm['model']));
  put(ev, ['gen_ai', 'response', 'model'], str(llm['response_model']));
  if (isObj(llm['usage'])) {
    put(ev, ['gen_ai', 'usage', 'input_tokens'], num(llm['usage']['input_tokens']));
    put(ev, ['gen_ai', 'usage', 'output_tokens'], num(llm['usage']['output_tokens']));
  }
  if (Array.isArray(llm['prompt'])) {
    const messages = (llm['prompt'] as unknown[]).filter(isObj).map((m) => ({ role: str(m['role']) ?? 'unknown', parts: textParts(m['content']) }));
    put(ev, ['gen_ai', 'input', 'messages'], messages);
  }
  const calls = Array.isArray(llm['tool_calls']) ? (llm['tool_calls'] as unknown[]).filter(isObj) : [];
  if (llm['completion'] !== undefined || calls.length > 0) {
    const parts = [
      ...textParts(llm['completion']),
      ...calls.map((c) => ({
        type: 'tool_call',
        ...(str(c['id']) && { id: c['id'] }),
        name: str(c['name']) ?? '',
        ...(str(c['arguments']) !== undefined && { arguments: c['arguments'] }),
      })),
    ];
    put(ev, ['gen_ai', 'output', 'messages'], [{ role: 'assistant', parts, ...(str(llm['finish_reason']) && { finish_reason: llm['finish_reason'] }) }]);
    if (calls.length > 0) {
      (ev['gen_ai'] as Obj)['tool'] = {
        name: calls.map((c) => str(c['name']) ?? ''),
        call: { id: calls.map((c) => str(c['id']) ?? '') },
      };
    }
  }
  const kept: Obj = {};
  for (const k of ['api', 'stream', 'tools', 'prompt_masked', 'completion_masked', 'latency_ms', 'ttfb_ms', 'complete', 'broken', 'error_response']) {
    if (llm[k] !== undefined) kept[k] = llm[k];
  }
  ag['llm'] = kept;
}

/**
 * Rewrites an event of schema version 1 (before ECS exactly) into version 2
 * (see the "Audit events" section of the README for the field moves). An
 * event that already has `ecs.version` is returned unchanged; anything that
 * is not an object is returned as is (validation reports it).
 *
 * Used where an old event meets new code: events still in flight in the
 * streams during an upgrade (unsealed, so nothing is lost: the writer seals
 * the new form), and old stored events read back for `agentgate trail`.
 * Never for verification: a sealed version 1 document verifies as it was
 * stored (hash.ts).
 */
export function upgradeEvent(input: unknown): unknown {
  if (!isObj(input) || input['ecs'] !== undefined || !isObj(input['agentgate']) || !isObj(input['event'])) return input;
  const ev = structuredClone(input);
  const e = ev['event'] as Obj;
  const ag = ev['agentgate'] as Obj;
  ev['ecs'] = { version: ECS_VERSION };

  if (isObj(ag['action'])) {
    put(e, ['action'], str(ag['action']['kind']));
    delete ag['action']['kind'];
  }
  if (isObj(ag['decision'])) {
    const d = ag['decision'];
    if (str(d['rule']) !== undefined) {
      put(ev, ['rule', 'id'], d['rule']);
      put(ev, ['rule', 'name'], d['rule']);
    }
    put(e, ['reason'], str(d['reason']));
    ag['decision'] = { effect: d['effect'] };
  }
  if (isObj(ev['user'])) delete (ev['user'] as Obj)['roles'];
  if (isObj(ag['principal'])) {
    const p = ag['principal'];
    put(ev, ['user', 'id'], str(p['subject']));
    if (Array.isArray(p['groups']) && p['groups'].length > 0) put(ev, ['user', 'group', 'name'], p['groups']);
    ag['principal'] = { issuer: p['issuer'], ...(p['ci'] !== undefined && { ci: p['ci'] }) };
  }
  if (isObj(ag['chain'])) {
    const c = ag['chain'];
    put(e, ['sequence'], num(c['seq']));
    if (str(c['hash']) !== '') put(e, ['hash'], str(c['hash']));
    ag['chain'] = { partition: c['partition'], prev_hash: c['prev_hash'] };
  }
  if (e['hash'] === '') delete e['hash'];
  upgradeLlm(ev, ag);
  if (isObj(ag['link'])) {
    const l = ag['link'];
    put(ev, ['gen_ai', 'tool', 'call', 'id'], str(l['tool_call_id']));
    ag['link'] = { exchange_id: l['exchange_id'], rule: l['rule'] };
  }
  if (isObj(ag['mcp'])) {
    const m = ag['mcp'];
    put(ev, ['gen_ai', 'tool', 'name'], str(m['tool']));
    if (isObj(m['error'])) {
      put(ev, ['error', 'code'], m['error']['code'] === undefined ? undefined : String(m['error']['code']));
      put(ev, ['error', 'message'], str(m['error']['message']));
    }
    delete m['tool'];
    delete m['error'];
  }
  if (isObj(ag['refusal'])) {
    put(ev, ['error', 'code'], str(ag['refusal']['code']));
    ag['refusal'] = { count: ag['refusal']['count'] };
  }
  if (isObj(ag['filler'])) ag['filler'] = { kind: ag['filler']['kind'] };
  return ev;
}
