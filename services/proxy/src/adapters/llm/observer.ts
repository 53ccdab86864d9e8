import { Transform, type TransformCallback } from 'node:stream';
import type { ActionEventInput, GenAiFields, GenAiMessage, LlmFields } from '@agentgate/events';
import type { Masker } from '@agentgate/masking';
import type { ResponseObserver } from '../types.js';
import { ExchangeAccumulator, type ExchangeResult } from './accumulate.js';
import type { ExchangeStore } from './exchange-store.js';
import type { LlmApi } from './request.js';
import { SseParser } from './sse.js';

/** What classify learned about an exchange, handed to its response observer. */
export interface ExchangeState {
  api: LlmApi;
  provider: string;
  /** The request's `agentgate.llm` fields (api, stream, offered tools), repeated on the completed event. */
  llm: LlmFields;
  /** The request's `gen_ai.*` fields (request model, token limit, provider, prompt), repeated on the completed event. */
  genAi: GenAiFields;
  masker: Masker;
  sessionId: string;
  actionId: string | undefined;
  exchanges: ExchangeStore | undefined;
  started: number;
  warn?: (fields: Record<string, unknown>, msg: string) => void;
}

const MAX_JSON = 8 * 1024 * 1024;
// The client waits at most this long for the exchange to be stored before its response ends.
const STORE_WAIT_MS = 2000;
const MAX_COMPLETION = 16 * 1024;

/**
 * A pass-through observer of an exchange's (already credential-masked)
 * response: every chunk goes on to the client at once; a copy is parsed as
 * SSE or JSON. When the body ends, the completion and tool calls are masked
 * with the prompt masker and the exchange is stored for correlation before
 * the last byte reaches the client (so an action the agent takes next finds
 * it); `finish()` gives the completed event its llm fields, marked
 * `complete: false` when the stream broke.
 */
export function exchangeObserver(st: ExchangeState): ResponseObserver {
  const acc = new ExchangeAccumulator(st.api);
  const sse = new SseParser();
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let mode: 'sse' | 'json' | undefined;
  let json = '';
  let jsonTooBig = false;
  let firstByteAt: number | undefined;
  let ended = false;
  let stored = false;
  let errorBody = false;
  let parseFailed = false;
  const feed = (text: string): void => {
    if (mode === undefined) {
      const t = text.trimStart();
      if (t === '') return;
      mode = t.startsWith('{') ? 'json' : 'sse';
    }
    if (mode === 'sse') sse.push(text, (e) => acc.event(e));
    else if (!jsonTooBig) {
      json += text;
      if (json.length > MAX_JSON) {
        jsonTooBig = true;
        json = '';
      }
    }
  };
  const settle = (): void => {
    const tail = decoder.decode();
    if (tail) feed(tail);
    if (mode === 'sse') sse.end((e) => acc.event(e));
    else if (mode === 'json' && !jsonTooBig) {
      try {
        const body = JSON.parse(json) as Record<string, unknown>;
        if (body && typeof body === 'object' && 'error' in body) errorBody = true;
        else acc.json(body);
      } catch {
        parseFailed = true;
      }
    }
  };
  let masked: { result: ExchangeResult; findings: number } | undefined;
  const maskedResult = (): { result: ExchangeResult; findings: number } => {
    if (masked) return masked;
    const r = acc.result();
    let findings = 0;
    const m = (s: string): string => {
      const x = st.masker.maskText(s);
      for (const f of x.findings) findings += f.count;
      return x.text;
    };
    masked = {
      result: { ...r, completion: m(r.completion), toolCalls: r.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: m(c.arguments || '{}') })) },
      findings,
    };
    return masked;
  };
  const store = async (): Promise<void> => {
    if (stored || !st.exchanges || !st.actionId || errorBody) return;
    stored = true;
    const { result } = maskedResult();
    await st.exchanges.add(st.sessionId, { id: st.actionId, at: Date.now(), toolCalls: result.toolCalls });
  };
  const storeQuietly = (): Promise<void> =>
    store().catch((err: unknown) => st.warn?.({ code: (err as { code?: string }).code }, 'llm exchange not stored for correlation'));

  const transform = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      firstByteAt ??= Date.now();
      // The client gets the chunk now; parsing a copy never holds the stream.
      this.push(chunk);
      try {
        feed(decoder.decode(chunk, { stream: true }));
      } catch {
        parseFailed = true;
      }
      cb();
    },
    flush(cb: TransformCallback) {
      ended = true;
      try {
        settle();
      } catch {
        parseFailed = true;
      }
      const timer = new Promise<void>((r) => setTimeout(r, STORE_WAIT_MS).unref());
      void Promise.race([storeQuietly(), timer]).then(() => cb());
    },
  });

  return {
    transform,
    finish(): Pick<ActionEventInput, 'llm' | 'genAi' | 'link'> {
      const { result: r, findings } = maskedResult();
      // A broken stream's exchange is still stored: its tool calls may have reached the agent.
      if (!ended) void storeQuietly();
      const complete = ended && r.done && !parseFailed;
      const completion = r.completion.length > MAX_COMPLETION ? `${r.completion.slice(0, MAX_COMPLETION)}… [abridged]` : r.completion;
      const output: GenAiMessage = {
        role: 'assistant',
        parts: [
          ...(completion !== '' ? [{ type: 'text' as const, content: completion }] : []),
          ...r.toolCalls.map((c) => ({ type: 'tool_call' as const, ...(c.id !== '' && { id: c.id }), name: c.name, arguments: c.arguments })),
        ],
        ...(r.finishReason !== undefined && { finish_reason: r.finishReason }),
      };
      // The finish reason is on the output message (ECS types gen_ai.response.finish_reasons `nested`: see the events schema).
      const response = { ...(r.model !== undefined && { model: r.model }) };
      return {
        llm: {
          ...st.llm,
          latency_ms: Date.now() - st.started,
          ...(firstByteAt !== undefined && { ttfb_ms: firstByteAt - st.started }),
          complete,
          ...(!ended && { broken: true }),
          ...(errorBody && { error_response: true }),
          ...(findings > 0 && { completion_masked: findings }),
        },
        // The response model is gen_ai.response.model; gen_ai.request.model stays the one asked for.
        genAi: {
          ...st.genAi,
          ...(Object.keys(response).length > 0 && { response }),
          ...(r.usage && { usage: r.usage }),
          output: { messages: [output] },
          // Every tool call the model proposed (the action a call leads to names its own in gen_ai.tool.call.id).
          ...(r.toolCalls.length > 0 && { tool: { name: r.toolCalls.map((c) => c.name), call: { id: r.toolCalls.map((c) => c.id) } } }),
        },
      };
    },
  };
}
