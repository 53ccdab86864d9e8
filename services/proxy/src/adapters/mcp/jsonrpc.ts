import { McpRefusal } from './errors.js';

/** A JSON-RPC id: MCP allows strings and integers (never null for a request). */
export type RpcId = string | number;

/** One JSON-RPC 2.0 message, checked for shape (params are not interpreted here). */
export type RpcMessage =
  | {
      readonly type: 'request';
      readonly id: RpcId;
      readonly method: string;
      readonly params: Record<string, unknown> | undefined;
      readonly raw: Record<string, unknown>;
    }
  | { readonly type: 'notification'; readonly method: string; readonly params: Record<string, unknown> | undefined; readonly raw: Record<string, unknown> }
  | { readonly type: 'response'; readonly id: RpcId | null; readonly raw: Record<string, unknown> };

/** A request body: one message, or a batch (MCP 2025-03-26). */
export interface RpcBody {
  readonly messages: readonly RpcMessage[];
  readonly batch: boolean;
}

/** Messages one batch may hold: a batch is decided all-or-nothing, and each message costs a policy decision. */
export const MAX_BATCH = 64;
const MAX_METHOD = 128;
const MAX_ID = 256;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function validId(v: unknown): v is RpcId {
  return (typeof v === 'string' && v.length <= MAX_ID) || (typeof v === 'number' && Number.isSafeInteger(v));
}

/**
 * Checks one parsed value as a JSON-RPC 2.0 message. Throws McpRefusal
 * (`-32600`, the id named when it is readable); messages never echo the
 * input, since it may hold a secret the masker has not seen yet.
 */
export function toMessage(v: unknown): RpcMessage {
  if (!isObject(v)) throw McpRefusal.malformed(-32600, 'a JSON-RPC message must be an object');
  const id = 'id' in v ? v.id : undefined;
  const named = validId(id) ? id : undefined;
  if (v.jsonrpc !== '2.0') throw McpRefusal.malformed(-32600, 'jsonrpc must be "2.0"', named);
  if ('method' in v) {
    const { method } = v;
    if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD) {
      throw McpRefusal.malformed(-32600, `method must be a string of 1 to ${MAX_METHOD} characters`, named);
    }
    const params = v.params;
    if (params !== undefined && !isObject(params)) throw McpRefusal.malformed(-32600, 'params must be an object', named);
    if (!('id' in v)) return { type: 'notification', method, params, raw: v };
    if (!validId(id)) throw McpRefusal.malformed(-32600, 'a request id must be a string or an integer');
    return { type: 'request', id, method, params, raw: v };
  }
  // A response to a server request (sampling, elicitation, roots): exactly one of result and error.
  if (!('result' in v) === !('error' in v)) throw McpRefusal.malformed(-32600, 'a response carries exactly one of result and error', named);
  if (id !== null && !validId(id)) throw McpRefusal.malformed(-32600, 'a response id must be a string, an integer or null');
  return { type: 'response', id: id as RpcId | null, raw: v };
}

/** Parses a POST body into messages; throws McpRefusal `-32700` (not JSON) or `-32600` (not JSON-RPC). */
export function parseBody(text: string): RpcBody {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw McpRefusal.malformed(-32700, 'the body is not JSON');
  }
  if (!Array.isArray(v)) return { messages: [toMessage(v)], batch: false };
  if (v.length === 0) throw McpRefusal.malformed(-32600, 'an empty batch');
  if (v.length > MAX_BATCH) throw McpRefusal.malformed(-32600, `a batch of more than ${MAX_BATCH} messages`);
  return { messages: v.map(toMessage), batch: true };
}

/** Parses one message the upstream sent (a JSON body or an SSE event's data); undefined when it is not one. */
export function parseUpstream(text: string): RpcMessage[] | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.map(toMessage) : [toMessage(v)];
  } catch {
    return undefined;
  }
}
