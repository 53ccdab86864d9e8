import type { ProxyError } from '../../errors.js';
import type { Classification, ClassifiedParts, RenderContext, RenderedError } from '../types.js';
import { McpRefusal, rpcCodeOf, type RefusalData } from './errors.js';
import type { RpcId } from './jsonrpc.js';

/** Request ids of a classified POST, in message order (notifications and responses have none to answer). */
export function requestIds(parts: ClassifiedParts | undefined): RpcId[] {
  const out: RpcId[] = [];
  for (const a of parts?.actions ?? []) {
    const id = a.attributes.id;
    if (a.kind !== 'mcp.response' && a.kind !== 'mcp.notification' && (typeof id === 'string' || typeof id === 'number')) out.push(id);
  }
  return out;
}

// Refusals that are not an answer to the request keep their HTTP status: bad input, a session to re-open, a credential to fix.
const NOT_AN_ANSWER = new Set([
  'ERR_MCP_MALFORMED',
  'ERR_MCP_SESSION_UNKNOWN',
  'ERR_AUTH_MISSING',
  'ERR_AUTH_MALFORMED',
  'ERR_AUTH_INVALID',
  'ERR_BODY_TOO_LARGE',
]);

/**
 * A refusal as JSON-RPC: the MCP client shows it as the error of the call.
 * When the request's ids are known (the classification got that far, or the
 * adapter's own refusal names them), each request gets a JSON-RPC error
 * answer with HTTP 200, as the server would answer it: `error.code` from
 * rpcCodeOf, `error.message` the gateway's message (rule and reason for a
 * denial), `error.data` = `{code, rule?, reason?, requestId}`. Anything else
 * (bad input, an unknown session, a notification refused) keeps its HTTP
 * status with one error of id null, as the MCP transport asks.
 */
export function renderMcpError(err: ProxyError, ctx: RenderContext): RenderedError {
  const refusal = err instanceof McpRefusal ? err : undefined;
  const c: Classification | undefined = ctx.classification;
  const ids = refusal && refusal.ids.length > 0 ? refusal.ids : requestIds(c?.parts);
  const batch = refusal ? refusal.batch : typeof c?.attributes.batch === 'number';
  const code = rpcCodeOf(err);
  const one = (id: RpcId | null): Record<string, unknown> => {
    const own = id === null ? undefined : refusal?.perId.get(id);
    const data: RefusalData & { requestId: string } = { ...(own?.data ?? { code: err.code }), requestId: ctx.requestId };
    return { jsonrpc: '2.0', id, error: { code, message: own?.message ?? err.message, data } };
  };
  const answer = ids.length > 0 && !NOT_AN_ANSWER.has(err.code);
  const body = ids.length === 0 ? one(null) : batch ? ids.map(one) : one(ids[0] as RpcId);
  return { status: answer ? 200 : err.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
