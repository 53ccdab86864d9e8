import type { Readable } from 'node:stream';
import type { GenAiFields, GenAiMessage, LlmFields } from '@agentgate/events';
import { ProxyError } from '../../errors.js';
import type { Adapter, AdapterRequest, Classification, ResponseObserver } from '../types.js';
import { type ExchangeState, exchangeObserver } from './observer.js';
import { maskPrompt, summarize } from './prompt-mask.js';
import { apiOf, exchangeAttributes, promptOf } from './request.js';

/** Exchange state by the classification's attributes object (kept through shallow copies of the classification). */
const states = new WeakMap<object, ExchangeState>();

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ProxyError('ERR_BAD_REQUEST', 'an llm request body must be JSON (only JSON bodies can be checked for secrets)');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProxyError('ERR_BAD_REQUEST', 'an llm request body must be a JSON object');
  return v as Record<string, unknown>;
}

/**
 * The `llm` adapter: OpenAI-compatible (chat completions, responses) and
 * Anthropic-compatible (messages) APIs, streaming or not.
 *
 * - A request with a body is read whole (bounded by the connection's body
 *   limit), parsed as JSON, and every free-text string in it is masked with
 *   the prompt masker (brokered secret values + detectors) before it leaves:
 *   with `masking.promptSecrets: refuse` a prompt holding a secret is refused
 *   instead (recorded as a denial by rule `masking.promptSecrets`). A body
 *   that is not JSON is refused, since it cannot be checked.
 * - Exchanges (POST …/chat/completions, …/responses, …/messages) become
 *   `llm.exchange` with attrs provider, api, model, max_tokens, stream,
 *   tools, messages (policy: `when: attrs.model in [...]`); any other
 *   endpoint becomes `llm.request` with method and path.
 * - The response is observed as it streams (see observer.ts).
 */
export const llmAdapter: Adapter = {
  type: 'llm',
  async classify(req: AdapterRequest): Promise<Classification> {
    const provider = req.connection.type === 'llm' ? req.connection.options.provider : 'openai';
    const api = apiOf(req.method, req.path);
    const hasBody = req.contentLength !== undefined ? req.contentLength > 0 : req.headers['transfer-encoding'] !== undefined;
    if (!api && !hasBody) {
      return { kind: 'llm.request', attributes: { provider, method: req.method, path: req.path } };
    }
    const raw = await readAll(req.body);
    const body = parseJson(raw);
    // Fail closed: without the masker the prompt cannot be checked, so it does not leave.
    if (!req.services) throw new ProxyError('ERR_CREDENTIAL_UNAVAILABLE', 'prompt masking is not configured on this gateway; request refused');
    let masker: Awaited<ReturnType<typeof req.services.promptMasker>>;
    try {
      masker = await req.services.promptMasker();
    } catch (err) {
      throw new ProxyError('ERR_CREDENTIAL_UNAVAILABLE', 'the secret masklist is unavailable, so the prompt cannot be checked; request refused', { cause: err });
    }
    let masked: ReturnType<typeof maskPrompt>;
    try {
      masked = maskPrompt(masker, body);
    } catch (err) {
      throw new ProxyError('ERR_BAD_REQUEST', 'the llm request body nests too deeply', { cause: err });
    }
    const summary = summarize(masked.findings);
    const found = summary.count > 0;
    const refuse = found && req.services.promptSecrets === 'refuse';
    const maskedBody = masked.body as Record<string, unknown>;
    // Unchanged bodies go out byte for byte; a masked one is re-serialised.
    const out = found ? Buffer.from(JSON.stringify(maskedBody)) : raw;
    const refusal = refuse
      ? {
          rule: 'masking.promptSecrets',
          reason: `the prompt contains ${summary.count} secret(s) (${summary.findings.map((f) => f.ref ?? f.type).join(', ')}); masking.promptSecrets is refuse`,
        }
      : undefined;
    if (!api) {
      const attributes = { provider, method: req.method, path: req.path, ...(typeof body.model === 'string' && { model: body.model }) };
      return { kind: 'llm.request', attributes, body: out, bodyLength: out.length, ...(found && { audit: { masking: summary } }), ...(refusal && { refusal }) };
    }
    const attributes = exchangeAttributes(api, provider, maskedBody);
    // ECS: the model, token limit and prompt are gen_ai.*; agentgate.llm keeps only what ECS has no field for.
    const llm: LlmFields = {
      api,
      stream: attributes.stream === true,
      tools: attributes.tools as string[],
      ...(found && { prompt_masked: summary.count }),
    };
    const input: GenAiMessage[] = promptOf(api, maskedBody).map((m) => ({ role: m.role, parts: m.content === '' ? [] : [{ type: 'text', content: m.content }] }));
    const genAi: GenAiFields = {
      request: {
        ...(typeof attributes.model === 'string' && { model: attributes.model }),
        ...(typeof attributes.max_tokens === 'number' && Number.isInteger(attributes.max_tokens) && attributes.max_tokens >= 0 && { max_tokens: attributes.max_tokens }),
      },
      provider: { name: provider },
      operation: { name: api === 'responses' ? 'responses' : 'chat' },
      input: { messages: input },
    };
    const classification: Classification = {
      kind: 'llm.exchange',
      attributes,
      body: out,
      bodyLength: out.length,
      audit: {
        llm,
        genAi,
        ...(found && { masking: summary }),
      },
      ...(refusal && { refusal }),
    };
    states.set(attributes, {
      api,
      provider,
      llm,
      genAi,
      masker,
      sessionId: req.principal.sessionId,
      actionId: req.actionId,
      exchanges: req.services.exchanges,
      started: Date.now(),
      ...(req.services.log && { warn: (fields, msg) => req.services?.log?.warn(fields, msg) }),
    });
    return classification;
  },
  observeResponse(_req: AdapterRequest, classification: Classification): ResponseObserver | undefined {
    const st = states.get(classification.attributes);
    return st ? exchangeObserver(st) : undefined;
  },
};
