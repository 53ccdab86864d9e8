import { Transform, type TransformCallback } from 'node:stream';
import type { McpFields } from '@agentgate/events';
import type { Finding, Masker } from '@agentgate/masking';
import { ProxyError } from '../../errors.js';
import { maskPrompt } from '../llm/prompt-mask.js';
import type { AdapterRequest, Classification, ObservedFields, ResponseObserver } from '../types.js';
import { abridgeJson, MCP_STRUCTURAL_KEYS } from './actions.js';
import { parseUpstream, type RpcMessage } from './jsonrpc.js';
import { mcpOptionsOf, SESSION_HEADER, validSessionId } from './options.js';
import { isOwner } from './session-store.js';
import { formatEvent, parseEvent, SseSplitter } from './sse-events.js';
import { filterTools } from './tools-filter.js';

/** A request of the POST the answer is awaited for. */
interface Pending {
  method: string;
  kind: string;
  tool?: string;
}

/**
 * Observes and rewrites an MCP answer (after the gateway's credential
 * masking): a JSON body or an SSE stream of JSON-RPC messages.
 *
 * - Every message is masked like a prompt (brokered values + detectors),
 *   string by string, so JSON stays valid and escaped secrets are seen;
 *   `tools/list` results lose the tools policy denies for certain
 *   (tools-filter.ts). An SSE stream is rewritten event by event, so
 *   progress reaches the client as it comes; a JSON body is read whole
 *   (bounded by `maxMessageBytes`).
 * - `head()` refuses bodies it could not read (compressed), binds a new
 *   `Mcp-Session-Id` to the principal before the client can learn it, and
 *   forgets an ended one.
 * - `finish()` gives the completed event the tool result (masked, cut to
 *   `recordChars`), the JSON-RPC error, and `outcome: failure` when the
 *   answer reports one or never came.
 */
export function mcpObserver(req: AdapterRequest, c: Classification): ResponseObserver {
  const opts = mcpOptionsOf(req.connection);
  const pending = new Map<string, Pending>();
  for (const a of c.parts?.actions ?? []) {
    const id = a.attributes.id;
    if ((typeof id === 'string' || typeof id === 'number') && a.kind !== 'mcp.response' && a.kind !== 'mcp.notification') {
      pending.set(String(id), { method: String(a.attributes.method), kind: a.kind, ...(typeof a.attributes.tool === 'string' && { tool: a.attributes.tool }) });
    }
  }
  const base = c.audit?.mcp;
  let masker: Masker | undefined;
  let mode: 'json' | 'sse' | 'text' | undefined;
  let status = 0;
  const findings: Finding[] = [];
  const answered = new Set<string>();
  let events = 0;
  let result: { text: string; truncated: boolean } | undefined;
  let isError = false;
  let rpcError: { code: number; message: string } | undefined;
  let tools: McpFields['tools'] | undefined;
  let ended = false;
  const splitter = new SseSplitter(opts.maxMessageBytes);
  const body: Buffer[] = [];
  let bodyBytes = 0;

  const mask = (v: unknown): unknown => {
    const m = maskPrompt(masker as Masker, v, MCP_STRUCTURAL_KEYS);
    findings.push(...m.findings);
    return m.body;
  };
  const maskText = (s: string): string => {
    const r = (masker as Masker).maskText(s);
    findings.push(...r.findings);
    return r.text;
  };

  /** One upstream message: masked, its answer noted, a tool list filtered. */
  const onMessage = (m: RpcMessage): Record<string, unknown> => {
    let out = mask(m.raw) as Record<string, unknown>;
    if (m.type !== 'response' || m.id === null) return out;
    const p = pending.get(String(m.id));
    if (!p) return out;
    answered.add(String(m.id));
    if ('error' in out) {
      const e = out.error as { code?: unknown; message?: unknown } | null;
      rpcError ??= { code: typeof e?.code === 'number' && Number.isInteger(e.code) ? e.code : 0, message: String(e?.message ?? '').slice(0, 1024) };
      return out;
    }
    const res = out.result;
    if (p.kind === 'mcp.tools.list' && opts.filterTools && req.services?.policy && res !== null && typeof res === 'object') {
      const f = filterTools(req.services.policy, req.principal, req.connection.name, res as Record<string, unknown>);
      tools = { listed: f.listed, hidden: f.hidden.length, hidden_names: f.hidden.slice(0, 100) };
      out = { ...out, result: f.result };
    }
    if (p.kind === 'mcp.tools.call') {
      result = abridgeJson(res, opts.recordChars);
      if ((res as { isError?: unknown } | null)?.isError === true) isError = true;
    } else if (p.kind === 'mcp.resources.read' || p.kind === 'mcp.prompts.get') {
      result = abridgeJson(res, opts.recordChars);
    }
    return out;
  };

  /** A JSON text from upstream (a body, or an event's data): rewritten, or masked as text when it is no JSON-RPC. */
  const rewrite = (text: string): string => {
    const msgs = parseUpstream(text);
    if (!msgs) return maskText(text);
    const outs = msgs.map(onMessage);
    const batch = text.trimStart().startsWith('[');
    return JSON.stringify(batch ? outs : outs[0]);
  };

  const transform = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        if (!masker) throw new ProxyError('ERR_INTERNAL', 'the mcp answer was not prepared');
        if (mode === 'sse') {
          for (const ev of splitter.push(chunk)) {
            events++;
            const f = parseEvent(ev.toString('utf8'));
            this.push(formatEvent({ other: f.other.map(maskText), data: f.data === undefined ? undefined : rewrite(f.data) }));
          }
        } else {
          bodyBytes += chunk.length;
          if (bodyBytes > opts.maxMessageBytes) throw new ProxyError('ERR_UPSTREAM_TOO_LARGE', `connection "${req.connection.name}": an MCP answer larger than options.maxMessageBytes (${opts.maxMessageBytes})`);
          body.push(chunk);
        }
        cb();
      } catch (err) {
        cb(err instanceof ProxyError ? err : new ProxyError('ERR_UPSTREAM_TOO_LARGE', `connection "${req.connection.name}": an MCP event larger than options.maxMessageBytes (${opts.maxMessageBytes})`));
      }
    },
    flush(cb: TransformCallback) {
      ended = true;
      if (!masker) return cb();
      if (mode === 'sse') {
        const rest = splitter.rest();
        if (rest.length > 0) this.push(maskText(rest.toString('utf8')));
      } else if (bodyBytes > 0) {
        const text = Buffer.concat(body).toString('utf8');
        this.push(mode === 'json' ? rewrite(text) : maskText(text));
      }
      cb();
    },
  });

  return {
    transform,
    async head(st, headers) {
      status = st;
      const enc = headers['content-encoding'];
      if (enc !== undefined && String(enc).trim().toLowerCase() !== 'identity') {
        throw new ProxyError('ERR_UPSTREAM_ENCODING', `connection "${req.connection.name}": the MCP server answered compressed (${String(enc).slice(0, 40)}); an MCP answer is read to be masked`);
      }
      if (!req.services) throw new ProxyError('ERR_CREDENTIAL_UNAVAILABLE', 'masking is not configured on this gateway; the MCP answer cannot be checked');
      try {
        masker = await req.services.promptMasker();
      } catch (err) {
        throw new ProxyError('ERR_CREDENTIAL_UNAVAILABLE', 'the secret masklist is unavailable, so the MCP answer cannot be masked; refused', { cause: err });
      }
      const type = String(headers['content-type'] ?? '').toLowerCase();
      mode = type.startsWith('text/event-stream') ? 'sse' : type.includes('json') ? 'json' : 'text';
      await bindSession(req, c, st, headers);
      // The body is rewritten (masked, filtered): its length changes.
      const out = { ...headers };
      delete out['content-length'];
      return out;
    },
    findings: () => findings,
    finish(): ObservedFields {
      const unanswered = [...pending.keys()].filter((id) => !answered.has(id));
      const complete = ended && unanswered.length === 0;
      const mcp: McpFields = {
        ...(base ?? { method: req.method }),
        ...(result && { result: result.text }),
        ...((result?.truncated || base?.truncated) && { truncated: true }),
        ...(isError && { is_error: true }),
        ...(tools && { tools }),
        ...(mode === 'sse' && { events }),
        complete,
      };
      const reason = rpcError
        ? `the MCP server answered with error ${rpcError.code}: ${rpcError.message}`
        : isError
          ? 'the tool reported an error'
          : status >= 400
            ? `the MCP server answered HTTP ${status}`
            : // A broken stream is the pipeline's failure (its reason names the upstream); a clean end without the answer is ours.
              ended && unanswered.length > 0
              ? `the MCP server ended the answer before responding to ${unanswered.length} request(s)`
              : undefined;
      return {
        mcp,
        ...(c.audit?.genAi && { genAi: c.audit.genAi }),
        // ECS error.code is a keyword: the JSON-RPC code as its decimal text.
        ...(rpcError && { error: { code: String(rpcError.code), message: rpcError.message } }),
        ...(reason !== undefined && { outcome: 'failure' as const, reason }),
      };
    },
  };
}

/**
 * Binds the session the upstream's `initialize` answer names to the
 * principal, before the client learns its id (so its next request, on any
 * replica, finds the binding); forgets a session the upstream ended. A
 * binding that cannot be stored refuses the answer (an unbound session
 * would be refused on every later request anyway).
 */
async function bindSession(req: AdapterRequest, c: Classification, status: number, headers: Record<string, string | string[]>): Promise<void> {
  const store = req.services?.mcpSessions;
  if (!store || status < 200 || status >= 300) return;
  const conn = req.connection.name;
  const asked = req.headers[SESSION_HEADER];
  if (req.method === 'DELETE' && typeof asked === 'string') {
    await store.end(conn, asked).catch((err: unknown) => req.services?.log?.warn({ code: (err as { code?: string }).code, connection: conn }, 'ended mcp session not forgotten; it expires with its ttl'));
    return;
  }
  const named = headers[SESSION_HEADER];
  if (typeof named !== 'string' || !(c.parts?.actions ?? []).some((a) => a.kind === 'mcp.initialize')) return;
  if (!validSessionId(named)) throw new ProxyError('ERR_UPSTREAM_FAILED', `connection "${conn}": the MCP server named a session id that is not visible ASCII`);
  const p = req.principal;
  const me = { issuer: p.issuer, subject: p.subject, sessionId: p.sessionId };
  try {
    // A server reusing an id another principal holds would hand that principal's session over: refused.
    const owner = await store.owner(conn, named);
    if (owner && !isOwner(owner, me)) throw new ProxyError('ERR_MCP_SESSION_UNKNOWN');
    await store.bind(conn, named, me, mcpOptionsOf(req.connection).sessionTtlMs);
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    throw new ProxyError('ERR_MCP_SESSIONS_UNAVAILABLE', undefined, { cause: err });
  }
}
