import type { LlmApi } from './request.js';
import type { SseEvent } from './sse.js';

/** A tool call the model proposed. `arguments` is the JSON text as the model wrote it. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** What a model answered, as far as it was seen. */
export interface ExchangeResult {
  model?: string;
  completion: string;
  toolCalls: ToolCall[];
  usage?: { input_tokens?: number; output_tokens?: number };
  finishReason?: string;
  /** The response reached its protocol end marker ([DONE], response.completed, message_stop, or a whole JSON body). */
  done: boolean;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined);

const MAX_TEXT = 64 * 1024;

/**
 * Rebuilds completion text, tool calls and usage from an exchange's
 * response, for the three wire formats, from SSE events (as they stream) or
 * from a whole JSON body. Text is capped (the audit keeps an abridged copy;
 * the client gets everything).
 */
export class ExchangeAccumulator {
  readonly #api: LlmApi;
  #text = '';
  #calls = new Map<string, { id: string; name: string; args: string }>();
  #r: Omit<ExchangeResult, 'completion' | 'toolCalls'> = { done: false };

  constructor(api: LlmApi) {
    this.#api = api;
  }

  result(): ExchangeResult {
    return {
      ...this.#r,
      completion: this.#text,
      toolCalls: [...this.#calls.values()].map((c) => ({ id: c.id, name: c.name, arguments: c.args })),
    };
  }

  #addText(t: unknown): void {
    if (typeof t === 'string' && this.#text.length < MAX_TEXT) this.#text += t.slice(0, MAX_TEXT - this.#text.length);
  }

  #call(key: string, patch: { id?: string; name?: string; args?: string; setArgs?: string }): void {
    let c = this.#calls.get(key);
    if (!c) {
      c = { id: '', name: '', args: '' };
      this.#calls.set(key, c);
    }
    if (patch.id) c.id = patch.id;
    if (patch.name) c.name = patch.name;
    if (patch.args && c.args.length < MAX_TEXT) c.args += patch.args;
    if (patch.setArgs !== undefined) c.args = patch.setArgs.slice(0, MAX_TEXT);
  }

  #usage(input: unknown, output: unknown): void {
    const i = num(input);
    const o = num(output);
    this.#r.usage = { ...this.#r.usage, ...(i !== undefined && { input_tokens: i }), ...(o !== undefined && { output_tokens: o }) };
  }

  /** A whole (non-streaming) JSON response body. */
  json(body: unknown): void {
    const b = obj(body);
    if (this.#api === 'chat.completions') {
      this.#r.model = str(b.model);
      const choice = obj((b.choices as unknown[] | undefined)?.[0]);
      const msg = obj(choice.message);
      this.#addText(msg.content);
      const calls = Array.isArray(msg.tool_calls) ? msg.tool_calls : [];
      calls.forEach((c: unknown, i: number) => {
        const f = obj(obj(c).function);
        this.#call(String(i), { id: str(obj(c).id) ?? '', name: str(f.name) ?? '', setArgs: str(f.arguments) ?? '' });
      });
      this.#r.finishReason = str(choice.finish_reason);
      const u = obj(b.usage);
      if (b.usage) this.#usage(u.prompt_tokens, u.completion_tokens);
    } else if (this.#api === 'responses') {
      this.#responseObject(b);
    } else {
      this.#r.model = str(b.model);
      const content = Array.isArray(b.content) ? b.content : [];
      content.forEach((p: unknown, i: number) => {
        const part = obj(p);
        if (part.type === 'text') this.#addText(part.text);
        if (part.type === 'tool_use') this.#call(String(i), { id: str(part.id) ?? '', name: str(part.name) ?? '', setArgs: JSON.stringify(part.input ?? {}) });
      });
      this.#r.finishReason = str(b.stop_reason);
      const u = obj(b.usage);
      if (b.usage) this.#usage(u.input_tokens, u.output_tokens);
    }
    this.#r.done = true;
  }

  #responseObject(b: Obj): void {
    this.#r.model = str(b.model) ?? this.#r.model;
    this.#text = '';
    this.#calls.clear();
    const output = Array.isArray(b.output) ? b.output : [];
    output.forEach((item: unknown, i: number) => {
      const it = obj(item);
      if (it.type === 'message' && Array.isArray(it.content)) for (const p of it.content) this.#addText(obj(p).text);
      if (it.type === 'function_call') this.#call(String(i), { id: str(it.call_id) ?? '', name: str(it.name) ?? '', setArgs: str(it.arguments) ?? '' });
    });
    this.#r.finishReason = str(b.status);
    const u = obj(b.usage);
    if (b.usage) this.#usage(u.input_tokens, u.output_tokens);
  }

  /** One SSE event of a streaming response. */
  event(e: SseEvent): void {
    if (this.#api === 'chat.completions') {
      this.#chatEvent(e);
      return;
    }
    const d = parse(e.data);
    const type = str(d.type) ?? e.event;
    if (this.#api === 'responses') this.#responsesEvent(type, d);
    else this.#messagesEvent(type, d);
  }

  /** Chat completions: `choices[0].delta` chunks, tool calls by index, `[DONE]` at the end. */
  #chatEvent(e: SseEvent): void {
    if (e.data === '[DONE]') {
      this.#r.done = true;
      return;
    }
    const d = parse(e.data);
    this.#r.model = str(d.model) ?? this.#r.model;
    const choice = obj((d.choices as unknown[] | undefined)?.[0]);
    const delta = obj(choice.delta);
    this.#addText(delta.content);
    if (Array.isArray(delta.tool_calls)) {
      for (const c of delta.tool_calls) {
        const call = obj(c);
        const f = obj(call.function);
        this.#call(String(call.index ?? 0), { id: str(call.id) ?? '', name: str(f.name) ?? '', args: str(f.arguments) ?? '' });
      }
    }
    if (str(choice.finish_reason)) this.#r.finishReason = str(choice.finish_reason);
    const u = obj(d.usage);
    if (d.usage) this.#usage(u.prompt_tokens, u.completion_tokens);
  }

  /** Responses API: typed events; the final `response.*` event carries the whole response object. */
  #responsesEvent(type: string | undefined, d: Obj): void {
    if (type === 'response.output_text.delta') this.#addText(d.delta);
    else if (type === 'response.output_item.added' || type === 'response.output_item.done') {
      const it = obj(d.item);
      if (it.type === 'function_call') {
        this.#call(String(d.output_index), {
          id: str(it.call_id) ?? '',
          name: str(it.name) ?? '',
          ...(type === 'response.output_item.done' && { setArgs: str(it.arguments) ?? '' }),
        });
      }
    } else if (type === 'response.function_call_arguments.delta') this.#call(String(d.output_index), { args: str(d.delta) ?? '' });
    else if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      this.#responseObject(obj(d.response));
      this.#r.done = true;
    } else if (type === 'response.created') this.#r.model = str(obj(d.response).model);
  }

  /** Anthropic messages: content blocks by index, usage at the start and in `message_delta`. */
  #messagesEvent(type: string | undefined, d: Obj): void {
    if (type === 'message_start') {
      const m = obj(d.message);
      this.#r.model = str(m.model);
      const u = obj(m.usage);
      if (m.usage) this.#usage(u.input_tokens, u.output_tokens);
    } else if (type === 'content_block_start') {
      const b = obj(d.content_block);
      if (b.type === 'text') this.#addText(b.text);
      if (b.type === 'tool_use') this.#call(String(d.index), { id: str(b.id) ?? '', name: str(b.name) ?? '' });
    } else if (type === 'content_block_delta') {
      const delta = obj(d.delta);
      if (delta.type === 'text_delta') this.#addText(delta.text);
      if (delta.type === 'input_json_delta') this.#call(String(d.index), { args: str(delta.partial_json) ?? '' });
    } else if (type === 'message_delta') {
      this.#r.finishReason = str(obj(d.delta).stop_reason) ?? this.#r.finishReason;
      const u = obj(d.usage);
      if (d.usage) this.#usage(u.input_tokens, u.output_tokens);
    } else if (type === 'message_stop') this.#r.done = true;
  }
}

function parse(data: string): Obj {
  try {
    return obj(JSON.parse(data));
  } catch {
    return {};
  }
}
