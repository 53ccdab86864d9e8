/**
 * What an LLM request is: which API (by path suffix, so an upstream URL
 * with or without `/v1` works) and the fields policy and audit need.
 */

/** The exchange APIs the adapter understands. */
export type LlmApi = 'chat.completions' | 'responses' | 'messages';

/** The API a path calls, or undefined for any other endpoint (models, embeddings, files…). */
export function apiOf(method: string, path: string): LlmApi | undefined {
  if (method !== 'POST') return undefined;
  if (/\/chat\/completions$/.test(path)) return 'chat.completions';
  if (/\/responses$/.test(path)) return 'responses';
  if (/\/messages$/.test(path)) return 'messages';
  return undefined;
}

/** One prompt message, flattened to text and abridged for the audit event. */
export interface PromptMessage {
  role: string;
  content: string;
}

const MAX_MESSAGES = 20;
const MAX_CONTENT = 2000;

/** The text of a message content: a string, or the text parts of a parts array (tool results and inputs as JSON). */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content);
  return content
    .map((p: unknown) => {
      if (typeof p === 'string') return p;
      const part = p as Record<string, unknown>;
      if (typeof part.text === 'string') return part.text;
      if (part.type === 'tool_result') return `[tool result] ${textOf(part.content)}`;
      if (part.type === 'tool_use') return `[tool call ${String(part.name)}] ${JSON.stringify(part.input)}`;
      if (typeof part.output === 'string') return `[tool output] ${part.output}`;
      return `[${String(part.type ?? 'part')}]`;
    })
    .join('\n');
}

function abridge(s: string, max = MAX_CONTENT): string {
  return s.length > max ? `${s.slice(0, max)}… [${s.length - max} more characters]` : s;
}

/** The prompt as the audit event keeps it: the last messages, each abridged (the body was masked before this). */
export function promptOf(api: LlmApi, body: Record<string, unknown>): PromptMessage[] {
  const out: PromptMessage[] = [];
  const system = api === 'messages' ? body.system : api === 'responses' ? body.instructions : undefined;
  if (system !== undefined) out.push({ role: 'system', content: textOf(system) });
  const list = api === 'responses' ? body.input : body.messages;
  if (typeof list === 'string') out.push({ role: 'user', content: list });
  else if (Array.isArray(list)) {
    for (const m of list as Array<Record<string, unknown>>) {
      const role = typeof m.role === 'string' ? m.role : typeof m.type === 'string' ? m.type : 'unknown';
      let content = textOf(m.content ?? m.output ?? m.arguments);
      if (Array.isArray(m.tool_calls)) {
        const calls = (m.tool_calls as Array<{ function?: { name?: unknown; arguments?: unknown } }>).map(
          (c) => `[tool call ${String(c.function?.name)}] ${String(c.function?.arguments ?? '')}`,
        );
        content = [content, ...calls].filter((s) => s !== '').join('\n');
      }
      out.push({ role, content });
    }
  }
  return out.slice(-MAX_MESSAGES).map((m) => ({ role: m.role, content: abridge(m.content) }));
}

/** Policy attributes of an exchange (`attrs.model`, `attrs.max_tokens`, …). */
export function exchangeAttributes(api: LlmApi, provider: string, body: Record<string, unknown>): Record<string, unknown> {
  const maxTokens = body.max_tokens ?? body.max_completion_tokens ?? body.max_output_tokens;
  const tools = Array.isArray(body.tools)
    ? (body.tools as Array<Record<string, unknown>>)
        .map((t) => (t.function as { name?: unknown } | undefined)?.name ?? t.name)
        .filter((n): n is string => typeof n === 'string')
    : [];
  const list = api === 'responses' ? body.input : body.messages;
  return {
    provider,
    api,
    ...(typeof body.model === 'string' && { model: body.model }),
    ...(typeof maxTokens === 'number' && { max_tokens: maxTokens }),
    stream: body.stream === true,
    tools,
    messages: Array.isArray(list) ? list.length : typeof list === 'string' ? 1 : 0,
  };
}

export { abridge };
