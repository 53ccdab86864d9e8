import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local model double speaking the OpenAI (chat completions, responses) and
 * Anthropic (messages) wire formats, JSON and SSE. It stands in for a model
 * provider in the demo and in tests: it checks the API key it was given
 * (the gateway's, injected), records every request it received, and answers
 * with a scripted reply. Node built-ins only; tests of any package import it
 * from `@agentgate/demo` (a devDependency where only tests use it).
 */

/** One tool call the double proposes. */
export interface DoubleToolCall {
  id: string;
  name: string;
  /** Arguments object (sent as a JSON string to OpenAI clients, as `input` to Anthropic ones). */
  arguments: Record<string, unknown>;
}

/** What the double answers to one request. */
export interface DoubleReply {
  text?: string;
  toolCalls?: DoubleToolCall[];
  /** Streams only: cut the connection after this many SSE events (a broken stream). */
  breakAfterEvents?: number;
  /** Streams only: delay between SSE events, in ms. */
  delayMs?: number;
}

/** A request as the double received it. */
export interface DoubleRequest {
  api: 'chat.completions' | 'responses' | 'messages';
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  raw: string;
}

export interface ModelDouble {
  readonly url: string;
  /** Which of `needles` appear in any request received so far (bodies and headers). */
  saw(needles: readonly string[]): boolean[];
  readonly requests: DoubleRequest[];
  /** Sets how the next requests are answered (default: a short text). */
  script(fn: (req: DoubleRequest) => DoubleReply): void;
  close(): Promise<void>;
}

const MODEL_FALLBACK = 'double-1';

/** Options of startModelDouble. */
export interface ModelDoubleOptions {
  /** The only credential accepted (Bearer for OpenAI, x-api-key for Anthropic). */
  apiKey: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /**
   * Serve `POST /_double/seen` (`{"needles": [...]}` → `{"seen": [bool]}`) so an agent in
   * another process can check that a secret never reached the model. Answers only
   * yes/no for values the caller already holds; off by default.
   */
  seenEndpoint?: boolean;
  /** The initial script (default: a short text). */
  script?: (req: DoubleRequest) => DoubleReply;
}

/** Starts the double; `apiKey` is the only credential it accepts. */
export async function startModelDouble(opts: ModelDoubleOptions): Promise<ModelDouble> {
  const requests: DoubleRequest[] = [];
  let reply: (req: DoubleRequest) => DoubleReply = opts.script ?? (() => ({ text: 'ok' }));
  const saw = (needles: readonly string[]): boolean[] =>
    needles.map((n) => n.length > 0 && requests.some((r) => r.raw.includes(n) || JSON.stringify(r.headers).includes(n)));
  const server: Server = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) {
      raw += String(c);
      // A double, but still bounded: nothing a client sends can exhaust its memory.
      if (raw.length > 32 * 1024 * 1024) return json(res, 413, { error: { message: 'request too large' } });
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/healthz') return json(res, 200, { ok: true });
    if (opts.seenEndpoint && req.method === 'POST' && path === '/_double/seen') {
      try {
        const needles = (JSON.parse(raw) as { needles?: unknown }).needles;
        if (!Array.isArray(needles) || !needles.every((n) => typeof n === 'string')) throw new Error('needles');
        return json(res, 200, { seen: saw(needles as string[]) });
      } catch {
        return json(res, 400, { error: { message: 'expected {"needles": ["..."]}' } });
      }
    }
    const api = path.endsWith('/chat/completions')
      ? 'chat.completions'
      : path.endsWith('/responses')
        ? 'responses'
        : path.endsWith('/messages')
          ? 'messages'
          : undefined;
    if (!api || req.method !== 'POST') return json(res, 404, { error: { message: `no route ${req.method} ${path}` } });
    const key = api === 'messages' ? req.headers['x-api-key'] : String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (key !== opts.apiKey) return json(res, 401, { error: { type: 'authentication_error', message: 'invalid api key' } });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return json(res, 400, { error: { message: 'body is not JSON' } });
    }
    const r: DoubleRequest = { api, path, headers: req.headers, body, raw };
    requests.push(r);
    const answer = reply(r);
    const model = typeof body.model === 'string' ? body.model : MODEL_FALLBACK;
    if (body.stream === true) return stream(res, sseEvents(api, model, answer), answer);
    return json(res, 200, jsonBody(api, model, answer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'}:${port}`,
    requests,
    saw,
    script(fn) {
      reply = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function stream(res: ServerResponse, events: Array<[string | undefined, unknown]>, answer: DoubleReply): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let n = 0;
  for (const [name, data] of events) {
    if (answer.breakAfterEvents !== undefined && n >= answer.breakAfterEvents) {
      // Let what was written reach the client before the connection is cut.
      await new Promise((r) => setTimeout(r, 100));
      res.destroy();
      return;
    }
    res.write(`${name ? `event: ${name}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    n++;
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
  }
  res.end();
}

const USAGE = { input: 11, output: 7 };

function jsonBody(api: DoubleRequest['api'], model: string, a: DoubleReply): unknown {
  const calls = a.toolCalls ?? [];
  if (api === 'chat.completions') {
    return {
      id: 'chatcmpl-double',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: a.text ?? null,
            ...(calls.length > 0 && {
              tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } })),
            }),
          },
          finish_reason: calls.length > 0 ? 'tool_calls' : 'stop',
        },
      ],
      usage: { prompt_tokens: USAGE.input, completion_tokens: USAGE.output, total_tokens: USAGE.input + USAGE.output },
    };
  }
  if (api === 'responses') return responseObject(model, a);
  return {
    id: 'msg_double',
    type: 'message',
    role: 'assistant',
    model,
    content: [
      ...(a.text !== undefined ? [{ type: 'text', text: a.text }] : []),
      ...calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.arguments })),
    ],
    stop_reason: calls.length > 0 ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: USAGE.input, output_tokens: USAGE.output },
  };
}

function responseObject(model: string, a: DoubleReply): Record<string, unknown> {
  return {
    id: 'resp_double',
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: 'completed',
    model,
    output: [
      ...(a.text !== undefined
        ? [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: a.text, annotations: [] }] }]
        : []),
      ...(a.toolCalls ?? []).map((c, i) => ({
        type: 'function_call',
        id: `fc_${i}`,
        call_id: c.id,
        name: c.name,
        arguments: JSON.stringify(c.arguments),
        status: 'completed',
      })),
    ],
    usage: { input_tokens: USAGE.input, output_tokens: USAGE.output, total_tokens: USAGE.input + USAGE.output },
  };
}

/** Splits a text in a few deltas, so clients see it arrive in pieces. */
function pieces(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 8) out.push(text.slice(i, i + 8));
  return out;
}

function sseEvents(api: DoubleRequest['api'], model: string, a: DoubleReply): Array<[string | undefined, unknown]> {
  const calls = a.toolCalls ?? [];
  const ev: Array<[string | undefined, unknown]> = [];
  if (api === 'chat.completions') {
    const chunk = (delta: unknown, finish: string | null = null, usage?: unknown) => ({
      id: 'chatcmpl-double',
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...(usage !== undefined && { usage }),
    });
    ev.push([undefined, chunk({ role: 'assistant', content: '' })]);
    for (const p of pieces(a.text ?? '')) ev.push([undefined, chunk({ content: p })]);
    calls.forEach((c, index) => {
      const args = JSON.stringify(c.arguments);
      ev.push([undefined, chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] })]);
      for (const p of pieces(args)) ev.push([undefined, chunk({ tool_calls: [{ index, function: { arguments: p } }] })]);
    });
    ev.push([undefined, chunk({}, calls.length > 0 ? 'tool_calls' : 'stop')]);
    ev.push([
      undefined,
      { ...chunk({}), choices: [], usage: { prompt_tokens: USAGE.input, completion_tokens: USAGE.output, total_tokens: USAGE.input + USAGE.output } },
    ]);
    ev.push([undefined, '[DONE]']);
    return ev;
  }
  if (api === 'responses') {
    const full = responseObject(model, a);
    let seq = 0;
    const e = (type: string, data: Record<string, unknown>) => ev.push([type, { type, sequence_number: seq++, ...data }]);
    e('response.created', { response: { ...full, status: 'in_progress', output: [] } });
    let index = 0;
    if (a.text !== undefined) {
      e('response.output_item.added', { output_index: index, item: { type: 'message', id: 'msg_1', status: 'in_progress', role: 'assistant', content: [] } });
      for (const p of pieces(a.text)) e('response.output_text.delta', { item_id: 'msg_1', output_index: index, content_index: 0, delta: p });
      e('response.output_text.done', { item_id: 'msg_1', output_index: index, content_index: 0, text: a.text });
      index++;
    }
    calls.forEach((c, i) => {
      const args = JSON.stringify(c.arguments);
      e('response.output_item.added', {
        output_index: index,
        item: { type: 'function_call', id: `fc_${i}`, call_id: c.id, name: c.name, arguments: '', status: 'in_progress' },
      });
      for (const p of pieces(args)) e('response.function_call_arguments.delta', { item_id: `fc_${i}`, output_index: index, delta: p });
      e('response.function_call_arguments.done', { item_id: `fc_${i}`, output_index: index, arguments: args });
      index++;
    });
    e('response.completed', { response: full });
    return ev;
  }
  ev.push([
    'message_start',
    {
      type: 'message_start',
      message: {
        id: 'msg_double',
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        usage: { input_tokens: USAGE.input, output_tokens: 1 },
      },
    },
  ]);
  let index = 0;
  if (a.text !== undefined) {
    ev.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }]);
    for (const p of pieces(a.text)) ev.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: p } }]);
    ev.push(['content_block_stop', { type: 'content_block_stop', index }]);
    index++;
  }
  for (const c of calls) {
    ev.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } }]);
    for (const p of pieces(JSON.stringify(c.arguments)))
      ev.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: p } }]);
    ev.push(['content_block_stop', { type: 'content_block_stop', index }]);
    index++;
  }
  ev.push([
    'message_delta',
    { type: 'message_delta', delta: { stop_reason: calls.length > 0 ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: USAGE.output } },
  ]);
  ev.push(['message_stop', { type: 'message_stop' }]);
  return ev;
}
