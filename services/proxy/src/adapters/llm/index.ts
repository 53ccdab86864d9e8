import type { Readable } from 'node:stream';
import type { GenAiFields, GenAiMessage, LlmFields } from '@agentgate/events';
import type { Masker } from '@agentgate/masking';
import { ProxyError } from '../../errors.js';
import type { Adapter, AdapterRequest, Classification, ResponseObserver } from '../types.js';
import { type ExchangeState, exchangeObserver } from './observer.js';
import { maskPrompt, type PromptSummary, promptMaskerOf, promptRefusal, summarize } from './prompt-mask.js';
import { apiOf, exchangeAttributes, type LlmApi, promptOf } from './request.js';

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

/** A request body after prompt masking: what goes upstream, and what was found in it. */
export interface CheckedPrompt {
  /** The parsed body, masked. */
  readonly body: Record<string, unknown>;
  /** The bytes to forward: the original ones when nothing was masked, else the masked body re-serialised. */
  readonly out: Buffer;
  readonly summary: PromptSummary;
  /** Set when a secret was found and `masking.promptSecrets` is `refuse`. */
  readonly refusal: { rule: string; reason: string } | undefined;
}

/** Masks every free-text string of the parsed body (see prompt-mask.ts) and decides whether it may go. */
export function checkPrompt(masker: Masker, raw: Buffer, body: Record<string, unknown>, promptSecrets: 'mask' | 'refuse'): CheckedPrompt {
  let masked: ReturnType<typeof maskPrompt>;
  try {
    masked = maskPrompt(masker, body);
  } catch (err) {
    throw new ProxyError('ERR_BAD_REQUEST', 'the llm request body nests too deeply', { cause: err });
  }
  const summary = summarize(masked.findings);
  // Unchanged bodies go out byte for byte; a masked one is re-serialised.
  const out = summary.count > 0 ? Buffer.from(JSON.stringify(masked.body)) : raw;
  return { body: masked.body as Record<string, unknown>, out, summary, refusal: promptRefusal(summary, promptSecrets, 'the prompt') };
}

/** Audit fields of a checked request: its masking summary and the refusal, when there are. */
function checkedFields(p: CheckedPrompt): Pick<Classification, 'body' | 'bodyLength' | 'refusal'> & { masking?: PromptSummary } {
  return { body: p.out, bodyLength: p.out.length, ...(p.summary.count > 0 && { masking: p.summary }), ...(p.refusal && { refusal: p.refusal }) };
}

/**
 * The `llm.exchange` fields: policy attributes, `agentgate.llm` and
 * `gen_ai.*`. ECS: the model, token limit and prompt are gen_ai.*;
 * agentgate.llm keeps only what ECS has no field for.
 */
export function exchangeFields(api: LlmApi, provider: string, p: CheckedPrompt): { attributes: Record<string, unknown>; llm: LlmFields; genAi: GenAiFields } {
  const attributes = exchangeAttributes(api, provider, p.body);
  const llm: LlmFields = {
    api,
    stream: attributes.stream === true,
    tools: attributes.tools as string[],
    ...(p.summary.count > 0 && { prompt_masked: p.summary.count }),
  };
  const input: GenAiMessage[] = promptOf(api, p.body).map((m) => ({ role: m.role, parts: m.content === '' ? [] : [{ type: 'text', content: m.content }] }));
  const maxTokens = attributes.max_tokens;
  const genAi: GenAiFields = {
    request: {
      ...(typeof attributes.model === 'string' && { model: attributes.model }),
      ...(typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens >= 0 && { max_tokens: maxTokens }),
    },
    provider: { name: provider },
    operation: { name: api === 'responses' ? 'responses' : 'chat' },
    input: { messages: input },
  };
  return { attributes, llm, genAi };
}

/** An endpoint that is no exchange (models list, embeddings, …): `llm.request`, its body still checked. */
function otherRequest(req: AdapterRequest, provider: string, p?: CheckedPrompt): Classification {
  const attributes = { provider, method: req.method, path: req.path, ...(typeof p?.body.model === 'string' && { model: p.body.model }) };
  if (!p) return { kind: 'llm.request', attributes };
  const { masking, ...rest } = checkedFields(p);
  return { kind: 'llm.request', attributes, ...rest, ...(masking && { audit: { masking } }) };
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
 * - The response is observed as it streams (see observer.ts), with the
 *   {@link ExchangeState} classify left in `adapterState`.
 */
export const llmAdapter: Adapter = {
  type: 'llm',
  async classify(req: AdapterRequest): Promise<Classification> {
    const provider = req.connection.type === 'llm' ? req.connection.options.provider : 'openai';
    const api = apiOf(req.method, req.path);
    const hasBody = req.contentLength !== undefined ? req.contentLength > 0 : req.headers['transfer-encoding'] !== undefined;
    if (!api && !hasBody) return otherRequest(req, provider);
    const raw = await readAll(req.body);
    const body = parseJson(raw);
    const { masker, services } = await promptMaskerOf(req, {
      missing: 'prompt masking is not configured on this gateway; request refused',
      unavailable: 'the secret masklist is unavailable, so the prompt cannot be checked; request refused',
    });
    const checked = checkPrompt(masker, raw, body, services.promptSecrets);
    if (!api) return otherRequest(req, provider, checked);
    const { attributes, llm, genAi } = exchangeFields(api, provider, checked);
    const { masking, ...forwarded } = checkedFields(checked);
    const state: ExchangeState = {
      api,
      provider,
      llm,
      genAi,
      masker,
      sessionId: req.principal.sessionId,
      actionId: req.actionId,
      exchanges: services.exchanges,
      started: Date.now(),
      ...(services.log && { warn: (fields, msg) => services.log?.warn(fields, msg) }),
    };
    return { kind: 'llm.exchange', attributes, ...forwarded, audit: { llm, genAi, ...(masking && { masking }) }, adapterState: state };
  },
  observeResponse(_req: AdapterRequest, classification: Classification): ResponseObserver | undefined {
    // Only this adapter's llm.exchange classifications carry an exchange state.
    const st = classification.kind === 'llm.exchange' ? (classification.adapterState as ExchangeState | undefined) : undefined;
    return st ? exchangeObserver(st) : undefined;
  },
};
