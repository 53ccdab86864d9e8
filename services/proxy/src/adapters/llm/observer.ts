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
 * The response body as it is parsed: a copy of every chunk, read as SSE or
 * (bounded) JSON, decided by its first non-blank character. Parsing never
 * throws out of here: a failure is noted (`parseFailed`) and the exchange
 * recorded as incomplete.
 */
export class ExchangeBody {
  readonly #acc: ExchangeAccumulator;
  readonly #sse = new SseParser();
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });
  #mode: 'sse' | 'json' | undefined;
  #json = '';
  #jsonTooBig = false;
  /** The body was a JSON error object (`{"error": …}`): no completion, nothing to store. */
  errorBody = false;
  parseFailed = false;

  constructor(api: LlmApi) {
    this.#acc = new ExchangeAccumulator(api);
  }

  /** One chunk of the body, as it streams. */
  push(chunk: Buffer): void {
    this.#guard(() => this.#feed(this.#decoder.decode(chunk, { stream: true })));
  }

  /** The body ended: the last bytes, the last SSE event, or the whole JSON body parsed. */
  end(): void {
    this.#guard(() => this.#settle());
  }

  result(): ExchangeResult {
    return this.#acc.result();
  }

  #guard(step: () => void): void {
    try {
      step();
    } catch {
      this.parseFailed = true;
    }
  }

  #feed(text: string): void {
    if (this.#mode === undefined) {
      const t = text.trimStart();
      if (t === '') return;
      this.#mode = t.startsWith('{') ? 'json' : 'sse';
    }
    if (this.#mode === 'sse') this.#sse.push(text, (e) => this.#acc.event(e));
    else if (!this.#jsonTooBig) {
      this.#json += text;
      if (this.#json.length > MAX_JSON) {
        this.#jsonTooBig = true;
        this.#json = '';
      }
    }
  }

  #settle(): void {
    const tail = this.#decoder.decode();
    if (tail) this.#feed(tail);
    if (this.#mode === 'sse') this.#sse.end((e) => this.#acc.event(e));
    else if (this.#mode === 'json' && !this.#jsonTooBig) {
      try {
        const body = JSON.parse(this.#json) as Record<string, unknown>;
        if (body && typeof body === 'object' && 'error' in body) this.errorBody = true;
        else this.#acc.json(body);
      } catch {
        this.parseFailed = true;
      }
    }
  }
}

/** An exchange's result with the completion and tool-call arguments masked, and how many findings that masked. */
export interface MaskedExchange {
  readonly result: ExchangeResult;
  readonly findings: number;
}

/** Masks the completion and the tool-call arguments with the prompt masker (what goes to the record and to correlation). */
export function maskExchange(masker: Masker, r: ExchangeResult): MaskedExchange {
  let findings = 0;
  const m = (s: string): string => {
    const x = masker.maskText(s);
    for (const f of x.findings) findings += f.count;
    return x.text;
  };
  const result = { ...r, completion: m(r.completion), toolCalls: r.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: m(c.arguments || '{}') })) };
  return { result, findings };
}

/** How the response went, as the completed event reports it. */
export interface ResponseTiming {
  readonly firstByteAt: number | undefined;
  /** The body ended (not broken off). */
  readonly ended: boolean;
  readonly errorBody: boolean;
  readonly parseFailed: boolean;
}

/** The completed event's `llm` and `gen_ai` fields of an exchange. */
export function completedFields(st: ExchangeState, masked: MaskedExchange, how: ResponseTiming): Pick<ActionEventInput, 'llm' | 'genAi' | 'link'> {
  const { result: r, findings } = masked;
  const complete = how.ended && r.done && !how.parseFailed;
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
      ...(how.firstByteAt !== undefined && { ttfb_ms: how.firstByteAt - st.started }),
      complete,
      ...(!how.ended && { broken: true }),
      ...(how.errorBody && { error_response: true }),
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
}

/**
 * A pass-through observer of an exchange's (already credential-masked)
 * response: every chunk goes on to the client at once; a copy is parsed as
 * SSE or JSON (ExchangeBody). When the body ends, the completion and tool
 * calls are masked with the prompt masker and the exchange is stored for
 * correlation before the last byte reaches the client (so an action the
 * agent takes next finds it); `finish()` gives the completed event its llm
 * fields, marked `complete: false` when the stream broke.
 */
export class ExchangeObserver implements ResponseObserver {
  readonly transform: Transform;
  readonly #st: ExchangeState;
  readonly #body: ExchangeBody;
  #firstByteAt: number | undefined;
  #ended = false;
  #stored = false;
  #masked: MaskedExchange | undefined;

  constructor(st: ExchangeState) {
    this.#st = st;
    this.#body = new ExchangeBody(st.api);
    this.transform = new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) => {
        this.#firstByteAt ??= Date.now();
        // The client gets the chunk now; parsing a copy never holds the stream.
        this.transform.push(chunk);
        this.#body.push(chunk);
        cb();
      },
      flush: (cb: TransformCallback) => {
        void this.#end().then(() => cb());
      },
    });
  }

  /** The body ended: parsed to its end, then stored for correlation (the client waits at most STORE_WAIT_MS for it). */
  async #end(): Promise<void> {
    this.#ended = true;
    this.#body.end();
    const timer = new Promise<void>((r) => setTimeout(r, STORE_WAIT_MS).unref());
    await Promise.race([this.#storeQuietly(), timer]);
  }

  #maskedResult(): MaskedExchange {
    this.#masked ??= maskExchange(this.#st.masker, this.#body.result());
    return this.#masked;
  }

  /** Stores the exchange's (masked) tool calls for correlation, once; an error answer has none. */
  async #store(): Promise<void> {
    const st = this.#st;
    if (this.#stored || !st.exchanges || !st.actionId || this.#body.errorBody) return;
    this.#stored = true;
    const { result } = this.#maskedResult();
    await st.exchanges.add(st.sessionId, { id: st.actionId, at: Date.now(), toolCalls: result.toolCalls });
  }

  #storeQuietly(): Promise<void> {
    return this.#store().catch((err: unknown) => this.#st.warn?.({ code: (err as { code?: string }).code }, 'llm exchange not stored for correlation'));
  }

  finish(): Pick<ActionEventInput, 'llm' | 'genAi' | 'link'> {
    const masked = this.#maskedResult();
    // A broken stream's exchange is still stored: its tool calls may have reached the agent.
    if (!this.#ended) void this.#storeQuietly();
    const how = { firstByteAt: this.#firstByteAt, ended: this.#ended, errorBody: this.#body.errorBody, parseFailed: this.#body.parseFailed };
    return completedFields(this.#st, masked, how);
  }
}

/** The response observer of one exchange (see {@link ExchangeObserver}). */
export function exchangeObserver(st: ExchangeState): ResponseObserver {
  return new ExchangeObserver(st);
}
