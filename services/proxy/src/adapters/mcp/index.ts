import type { Readable } from 'node:stream';
import type { McpFields } from '@agentgate/events';
import { ProxyError } from '../../errors.js';
import { type PromptSummary, promptMaskerOf, promptRefusal, summarize } from '../llm/prompt-mask.js';
import type { Adapter, AdapterRequest, AdapterServices, Classification, ClassifiedParts } from '../types.js';
import { abridgeJson, type MessageAction, messageAction } from './actions.js';
import { McpRefusal, type RefusalData } from './errors.js';
import { parseBody, type RpcId } from './jsonrpc.js';
import { pickToolLink, recentExchanges } from './match.js';
import { mcpObserver } from './observer.js';
import { mcpOptionsOf, SESSION_HEADER, validSessionId } from './options.js';
import { renderMcpError, requestIds } from './render.js';
import { isOwner, sessionHash } from './session-store.js';

/**
 * The `mcp` adapter: MCP Streamable HTTP (JSON-RPC over POST, answers as
 * JSON or SSE, `Mcp-Session-Id`, GET for the server's stream, DELETE to end
 * a session). Each POST is read whole (bounded by `options.maxMessageBytes`),
 * parsed, and each message (a batch's too) becomes an action decided on its
 * own, all-or-nothing (see actions.ts for kinds and attributes). Tool
 * arguments and every other free-text string are masked before they leave;
 * answers are masked and recorded by the observer (observer.ts); refusals
 * are JSON-RPC errors (render.ts). Every request that names a session must
 * come from the principal that opened it (session-store.ts).
 */
export const mcpAdapter: Adapter = {
  type: 'mcp',
  async classify(req: AdapterRequest): Promise<Classification> {
    const session = sessionOf(req);
    if (req.method === 'GET' || req.method === 'DELETE') return streamOrEnd(req, session);
    if (req.method !== 'POST') throw new ProxyError('ERR_METHOD_NOT_ALLOWED', 'an MCP endpoint takes POST, GET and DELETE');
    const opts = mcpOptionsOf(req.connection);
    const text = await readMessage(req, opts.maxMessageBytes);
    const body = parseBody(text);
    const ids = body.messages.flatMap((m) => (m.type === 'request' ? [m.id] : []));
    // Without a session id there is no session to ride on (a stateless server, or one that refuses it itself).
    if (session !== undefined) await checkSession(req, session, ids, body.batch);
    const checked = await checkMessages(req, text, body, ids);
    const first = checked.actions.find((a) => a.kind === 'mcp.tools.call') ?? checked.actions[0];
    if (!first) throw McpRefusal.malformed(-32600, 'an empty batch');
    const exchanges = await recentExchanges(checked.services, req.principal.sessionId);
    const link = pickToolLink(exchanges, first.kind === 'mcp.tools.call' ? String(first.attributes.tool) : undefined, first.attributes.arguments);
    return postClassification(req, session, checked, first, link, opts.recordChars);
  },
  renderError: renderMcpError,
  observeResponse: (req, classification) => mcpObserver(req, classification),
};

/** A GET (the server's stream) or a DELETE (the end of a session): only the session's own principal may. */
async function streamOrEnd(req: AdapterRequest, session: string | undefined): Promise<Classification> {
  if (session !== undefined) await checkSession(req, session, []);
  const kind = req.method === 'GET' ? 'mcp.stream' : 'mcp.session.end';
  const attributes = { method: req.method };
  const mcp: McpFields = { method: req.method, ...(session !== undefined && { session: sessionHash(req.connection.name, session).slice(0, 32) }) };
  return { kind, attributes, audit: { mcp }, parts: single(kind, attributes) };
}

/** A POST's messages after masking: one action each, what was found, the bytes to forward, the refusal when secrets are refused. */
interface CheckedMessages {
  readonly actions: MessageAction[];
  readonly summary: PromptSummary;
  readonly out: Buffer;
  readonly refusal: { rule: string; reason: string } | undefined;
  readonly batch: boolean;
  readonly services: AdapterServices;
}

/** Masks every message (tool arguments and other free text) before it leaves; fails closed without the masker. */
async function checkMessages(req: AdapterRequest, text: string, body: ReturnType<typeof parseBody>, ids: RpcId[]): Promise<CheckedMessages> {
  const { masker, services } = await promptMaskerOf(req, {
    missing: 'masking is not configured on this gateway; request refused',
    unavailable: 'the secret masklist is unavailable, so the MCP message cannot be checked; request refused',
  });
  let actions: MessageAction[];
  try {
    actions = body.messages.map((m) => messageAction(m, masker));
  } catch {
    throw McpRefusal.malformed(-32600, 'the message nests too deeply', ids[0]);
  }
  const summary = summarize(actions.flatMap((a) => a.findings));
  // Unchanged bodies go out byte for byte; a masked one is re-serialised.
  const out = summary.count > 0 ? Buffer.from(JSON.stringify(body.batch ? actions.map((a) => a.masked) : actions[0]?.masked)) : Buffer.from(text);
  return { actions, summary, out, refusal: promptRefusal(summary, services.promptSecrets, 'the MCP message'), batch: body.batch, services };
}

/** The classification of a POST: its first message (a tool call first) speaks for a batch; every message is a part. */
function postClassification(
  req: AdapterRequest,
  session: string | undefined,
  checked: CheckedMessages,
  first: MessageAction,
  link: ReturnType<typeof pickToolLink>,
  recordChars: number,
): Classification {
  const { actions, batch, summary, out } = checked;
  const recorded = recordedFields(first, recordChars);
  const mcp: McpFields = {
    method: first.method ?? (first.kind === 'mcp.response' ? 'response' : 'unknown'),
    ...(first.id !== undefined && { request_id: String(first.id) }),
    ...(session !== undefined && { session: sessionHash(req.connection.name, session).slice(0, 32) }),
    ...recorded.mcp,
    ...(batch && { batch: actions.length, methods: actions.map((a) => a.method ?? 'response') }),
  };
  const tool = first.kind === 'mcp.tools.call' ? String(first.attributes.tool) : undefined;
  const attributes = batch ? { batch: actions.length, methods: mcp.methods, ...(tool !== undefined && { tool }) } : recorded.attributes;
  return {
    kind: batch ? 'mcp.batch' : first.kind,
    attributes,
    body: out,
    bodyLength: out.length,
    audit: {
      mcp,
      ...(link && { link }),
      ...(tool !== undefined && {
        genAi: { operation: { name: 'execute_tool' }, tool: { name: tool, call: { id: link?.tool_call_id ?? String(first.id) } } },
      }),
      ...(summary.count > 0 && { masking: summary }),
    },
    parts: batchParts(actions, batch),
    ...(checked.refusal && { refusal: checked.refusal }),
  };
}

/** The client's session id; one visible-ASCII value or none. */
function sessionOf(req: AdapterRequest): string | undefined {
  const v = req.headers[SESSION_HEADER];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !validSessionId(v))
    throw McpRefusal.malformed(-32600, 'Mcp-Session-Id must be one value of visible ASCII characters (at most 256)');
  return v;
}

/** Refuses a session the principal did not open (unknown, expired, ended, or another's: the same answer). */
async function checkSession(req: AdapterRequest, session: string, ids: RpcId[], batch = false): Promise<void> {
  const store = req.services?.mcpSessions;
  if (!store) throw new ProxyError('ERR_MCP_SESSIONS_UNAVAILABLE', 'MCP session bindings are not configured on this gateway');
  let owner: Awaited<ReturnType<typeof store.owner>>;
  try {
    owner = await store.owner(req.connection.name, session);
  } catch (err) {
    throw new ProxyError('ERR_MCP_SESSIONS_UNAVAILABLE', undefined, { cause: err });
  }
  const p = req.principal;
  if (owner && isOwner(owner, { issuer: p.issuer, subject: p.subject, sessionId: p.sessionId })) return;
  if (owner) req.services?.log?.warn({ connection: req.connection.name, subject: p.subject }, 'mcp session of another principal refused');
  throw new McpRefusal('ERR_MCP_SESSION_UNKNOWN', -32004, 'unknown or expired MCP session: initialize a new one', { ids, batch });
}

/** Reads the POST body whole, bounded; a body that is not UTF-8 is malformed. */
async function readMessage(req: AdapterRequest, max: number): Promise<string> {
  if (req.contentLength !== undefined && req.contentLength > max) {
    throw new McpRefusal('ERR_BODY_TOO_LARGE', -32600, `an MCP message of ${req.contentLength} bytes exceeds options.maxMessageBytes (${max})`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req.body as Readable) {
    n += (c as Buffer).length;
    if (n > max) throw new McpRefusal('ERR_BODY_TOO_LARGE', -32600, `an MCP message larger than options.maxMessageBytes (${max})`);
    chunks.push(c as Buffer);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw McpRefusal.malformed(-32700, 'the body is not UTF-8');
  }
}

/** What the event records of the (first) message: arguments cut to `recordChars`; policy saw them whole. */
function recordedFields(a: MessageAction, max: number): { attributes: Record<string, unknown>; mcp: Partial<McpFields> } {
  const attrs = a.attributes;
  const mcp: Partial<McpFields> = {};
  const attributes = { ...attrs };
  // The tool is gen_ai.tool.name (set by classify), not repeated here.
  if (typeof attrs.uri === 'string') mcp.uri = attrs.uri;
  if (typeof attrs.prompt === 'string') mcp.prompt = attrs.prompt;
  if (attrs.arguments !== undefined) {
    const args = abridgeJson(attrs.arguments, max);
    mcp.arguments = args.text;
    if (args.truncated) {
      mcp.truncated = true;
      // The event keeps the abridged text: arguments can be megabytes.
      attributes.arguments = { abridged: args.text };
    }
  }
  return { attributes, mcp };
}

/** One part per message; a deny of any refuses the whole POST, the denied message naming its rule. */
function batchParts(actions: MessageAction[], batch: boolean): ClassifiedParts {
  return {
    actions: actions.map((a) => ({ kind: a.kind, attributes: a.attributes })),
    settle(decisions) {
      const denied = decisions.findIndex((d) => d.effect === 'deny');
      if (denied === -1) return {};
      const d = decisions[denied] as (typeof decisions)[number];
      const by = d.rule ? ` (rule ${d.rule})` : '';
      const message = `denied by policy${by}: ${d.reason}`;
      const perId = new Map<RpcId, { message: string; data: RefusalData }>();
      actions.forEach((a, i) => {
        if (a.id === undefined || a.kind === 'mcp.response') return;
        perId.set(
          a.id,
          i === denied
            ? { message, data: { code: 'ERR_POLICY_DENIED', rule: d.rule, reason: d.reason } }
            : { message: `not sent: message ${denied + 1} of the batch was denied${by}`, data: { code: 'ERR_POLICY_DENIED', rule: d.rule } },
        );
      });
      const ids = requestIds({ actions: actions.map((a) => ({ kind: a.kind, attributes: a.attributes })), settle: () => ({}) });
      return { refusal: new McpRefusal('ERR_POLICY_DENIED', -32003, message, { ids, batch, perId }) };
    },
  };
}

function single(kind: string, attributes: Record<string, unknown>): ClassifiedParts {
  return { actions: [{ kind, attributes }], settle: () => ({}) };
}
