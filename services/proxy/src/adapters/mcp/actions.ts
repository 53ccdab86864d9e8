import type { Finding, Masker } from '@agentgate/masking';
import { maskPrompt } from '../llm/prompt-mask.js';
import type { RpcId, RpcMessage } from './jsonrpc.js';

/**
 * # What an MCP message is, as an action
 *
 * | message | kind | attrs policy sees |
 * |---|---|---|
 * | `initialize` | `mcp.initialize` | method, client (name) |
 * | `tools/list` | `mcp.tools.list` | method |
 * | `tools/call` | `mcp.tools.call` | method, tool, arguments (masked) |
 * | `resources/read` | `mcp.resources.read` | method, uri |
 * | `resources/list`, `resources/templates/list` | `mcp.resources.list` | method |
 * | `resources/subscribe`, `…/unsubscribe` | `mcp.resources.subscribe` | method, uri |
 * | `prompts/list` | `mcp.prompts.list` | method |
 * | `prompts/get` | `mcp.prompts.get` | method, prompt, arguments (masked) |
 * | `ping`, `completion/complete`, `logging/setLevel`, any other request | `mcp.ping`, `mcp.completion`, `mcp.logging`, `mcp.request` | method |
 * | a notification (`notifications/…`) | `mcp.notification` | method |
 * | a response to a server request (sampling, elicitation, roots) | `mcp.response` | (id) |
 * | `GET` (the server's stream) | `mcp.stream` | method: GET |
 * | `DELETE` (end the session) | `mcp.session.end` | method: DELETE |
 *
 * Every message also has `id` (its JSON-RPC id, string or integer) when it has one.
 * Method names are a bounded set of kinds: an unknown method is
 * `mcp.request` with its name in `attrs.method`, so kinds stay a closed
 * vocabulary for dashboards. The action catalogue (../catalogue.ts) lists
 * these kinds; a test checks they agree.
 */
export const MCP_METHOD_KINDS: Readonly<Record<string, string>> = {
  initialize: 'mcp.initialize',
  ping: 'mcp.ping',
  'tools/list': 'mcp.tools.list',
  'tools/call': 'mcp.tools.call',
  'resources/list': 'mcp.resources.list',
  'resources/templates/list': 'mcp.resources.list',
  'resources/read': 'mcp.resources.read',
  'resources/subscribe': 'mcp.resources.subscribe',
  'resources/unsubscribe': 'mcp.resources.subscribe',
  'prompts/list': 'mcp.prompts.list',
  'prompts/get': 'mcp.prompts.get',
  'completion/complete': 'mcp.completion',
  'logging/setLevel': 'mcp.logging',
};

/** JSON keys whose values are protocol identifiers, never free text: masking them would break the exchange. */
export const MCP_STRUCTURAL_KEYS: ReadonlySet<string> = new Set([
  'jsonrpc',
  'id',
  'method',
  'progressToken',
  'cursor',
  'nextCursor',
  'protocolVersion',
  'mimeType',
]);

/** One message as an action, its (masked) message to forward, and what masking found. */
export interface MessageAction {
  readonly kind: string;
  readonly attributes: Record<string, unknown>;
  readonly id: RpcId | undefined;
  readonly method: string | undefined;
  /** The message with every free-text string masked (tool arguments included). */
  readonly masked: Record<string, unknown>;
  readonly findings: Finding[];
}

const str = (v: unknown, max = 2048): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);

/** The action of one client message; `masker` masks what goes upstream (brokered values + detectors). */
export function messageAction(m: RpcMessage, masker: Masker): MessageAction {
  const masked = maskPrompt(masker, m.raw, MCP_STRUCTURAL_KEYS);
  const raw = masked.body as Record<string, unknown>;
  const id = m.type === 'notification' ? undefined : (m.id ?? undefined);
  // The id keeps its JSON type: an answer with "3" for 3 would not reach the caller.
  const base = { ...(id !== undefined && { id }) };
  if (m.type === 'notification')
    return { kind: 'mcp.notification', attributes: { method: m.method, ...base }, id, method: m.method, masked: raw, findings: masked.findings };
  if (m.type === 'response') return { kind: 'mcp.response', attributes: { ...base }, id, method: undefined, masked: raw, findings: masked.findings };
  const params = (raw.params ?? {}) as Record<string, unknown>;
  const kind = MCP_METHOD_KINDS[m.method] ?? 'mcp.request';
  const attributes: Record<string, unknown> = { method: m.method, ...base };
  if (kind === 'mcp.tools.call') {
    attributes.tool = str(params.name, 256) ?? '';
    // Always an object, so `attrs.arguments.x` reads as absent (not an error) when the client sent none.
    attributes.arguments = isObject(params.arguments) ? params.arguments : {};
  } else if (kind === 'mcp.prompts.get') {
    attributes.prompt = str(params.name, 256) ?? '';
    attributes.arguments = isObject(params.arguments) ? params.arguments : {};
  } else if (kind === 'mcp.resources.read' || kind === 'mcp.resources.subscribe') {
    attributes.uri = str(params.uri) ?? '';
  } else if (kind === 'mcp.initialize') {
    const client = isObject(params.clientInfo) ? str(params.clientInfo.name, 128) : undefined;
    if (client !== undefined) attributes.client = client;
  }
  return { kind, attributes, id, method: m.method, masked: raw, findings: masked.findings };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** JSON cut to `max` characters for the audit event (`…` marks a cut). */
export function abridgeJson(v: unknown, max: number): { text: string; truncated: boolean } {
  const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
  return text.length > max ? { text: `${text.slice(0, max)}…`, truncated: true } : { text, truncated: false };
}
