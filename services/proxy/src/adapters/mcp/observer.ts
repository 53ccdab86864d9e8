import { Transform, type TransformCallback } from 'node:stream';
import type { McpFields } from '@agentgate/events';
import type { Finding, Masker } from '@agentgate/masking';
import { ProxyError } from '../../errors.js';
import { maskPrompt, promptMaskerOf } from '../llm/prompt-mask.js';
import type { AdapterRequest, Classification, ObservedFields, ResponseObserver } from '../types.js';
import { abridgeJson, MCP_STRUCTURAL_KEYS } from './actions.js';
import { parseUpstream, type RpcMessage } from './jsonrpc.js';
import { mcpOptionsOf, SESSION_HEADER, validSessionId } from './options.js';
import { isOwner } from './session-store.js';
import { formatEvent, parseEvent, SseSplitter } from './sse-events.js';
import { filterTools } from './tools-filter.js';

/** A request of the POST the answer is awaited for. */
export interface Pending {
  method: string;
  kind: string;
  tool?: string;
}

/** The requests of a POST whose answers are awaited, by JSON-RPC id (responses and notifications await none). */
export function pendingRequests(c: Classification): Map<string, Pending> {
  const pending = new Map<string, Pending>();
  for (const a of c.parts?.actions ?? []) {
    const id = a.attributes.id;
    if ((typeof id === 'string' || typeof id === 'number') && a.kind !== 'mcp.response' && a.kind !== 'mcp.notification') {
      pending.set(String(id), { method: String(a.attributes.method), kind: a.kind, ...(typeof a.attributes.tool === 'string' && { tool: a.attributes.tool }) });
    }
  }
  return pending;
}

/** What the answer said so far: the state `finish()` reports. */
export interface McpAnswer {
  status: number;
  mode: 'json' | 'sse' | 'text' | undefined;
  /** SSE events relayed. */
  events: number;
  /** Ids of awaited requests the upstream answered. */
  readonly answered: Set<string>;
  /** A tool call's, resource read's or prompt's result, abridged for the record. */
  result: { text: string; truncated: boolean } | undefined;
  /** The tool reported an error (`isError: true`). */
  isError: boolean;
  /** The first JSON-RPC error among the answers. */
  rpcError: { code: number; message: string } | undefined;
  tools: McpFields['tools'] | undefined;
  /** The body ended (not broken off). */
  ended: boolean;
}

/** Why the answer counts as a failure, if it does. */
export function failureReason(a: McpAnswer, unanswered: number): string | undefined {
  if (a.rpcError) return `the MCP server answered with error ${a.rpcError.code}: ${a.rpcError.message}`;
  if (a.isError) return 'the tool reported an error';
  if (a.status >= 400) return `the MCP server answered HTTP ${a.status}`;
  // A broken stream is the pipeline's failure (its reason names the upstream); a clean end without the answer is ours.
  if (a.ended && unanswered > 0) return `the MCP server ended the answer before responding to ${unanswered} request(s)`;
  return undefined;
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
export class McpObserver implements ResponseObserver {
  readonly transform: Transform;
  readonly #req: AdapterRequest;
  readonly #c: Classification;
  readonly #opts: ReturnType<typeof mcpOptionsOf>;
  readonly #pending: Map<string, Pending>;
  readonly #answer: McpAnswer = {
    status: 0,
    mode: undefined,
    events: 0,
    answered: new Set(),
    result: undefined,
    isError: false,
    rpcError: undefined,
    tools: undefined,
    ended: false,
  };
  readonly #findings: Finding[] = [];
  readonly #splitter: SseSplitter;
  readonly #body: Buffer[] = [];
  #bodyBytes = 0;
  #masker: Masker | undefined;

  constructor(req: AdapterRequest, c: Classification) {
    this.#req = req;
    this.#c = c;
    this.#opts = mcpOptionsOf(req.connection);
    this.#pending = pendingRequests(c);
    this.#splitter = new SseSplitter(this.#opts.maxMessageBytes);
    this.transform = new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) => {
        try {
          this.#chunk(chunk);
          cb();
        } catch (err) {
          cb(err instanceof ProxyError ? err : this.#tooLarge('an MCP event'));
        }
      },
      flush: (cb: TransformCallback) => {
        this.#flush();
        cb();
      },
    });
  }

  /** Checks the answer's head, gets the masker, binds or forgets the session; the head to send. */
  async head(status: number, headers: Record<string, string | string[]>): Promise<Record<string, string | string[]>> {
    const req = this.#req;
    this.#answer.status = status;
    const enc = headers['content-encoding'];
    if (enc !== undefined && String(enc).trim().toLowerCase() !== 'identity') {
      throw new ProxyError(
        'ERR_UPSTREAM_ENCODING',
        `connection "${req.connection.name}": the MCP server answered compressed (${String(enc).slice(0, 40)}); an MCP answer is read to be masked`,
      );
    }
    ({ masker: this.#masker } = await promptMaskerOf(req, {
      missing: 'masking is not configured on this gateway; the MCP answer cannot be checked',
      unavailable: 'the secret masklist is unavailable, so the MCP answer cannot be masked; refused',
    }));
    const type = String(headers['content-type'] ?? '').toLowerCase();
    this.#answer.mode = type.startsWith('text/event-stream') ? 'sse' : type.includes('json') ? 'json' : 'text';
    await bindSession(req, this.#c, status, headers);
    // The body is rewritten (masked, filtered): its length changes.
    const out = { ...headers };
    delete out['content-length'];
    return out;
  }

  findings(): Finding[] {
    return this.#findings;
  }

  finish(): ObservedFields {
    const a = this.#answer;
    const base = this.#c.audit?.mcp;
    const unanswered = [...this.#pending.keys()].filter((id) => !a.answered.has(id));
    const mcp: McpFields = {
      ...(base ?? { method: this.#req.method }),
      ...(a.result && { result: a.result.text }),
      ...((a.result?.truncated || base?.truncated) && { truncated: true }),
      ...(a.isError && { is_error: true }),
      ...(a.tools && { tools: a.tools }),
      ...(a.mode === 'sse' && { events: a.events }),
      complete: a.ended && unanswered.length === 0,
    };
    const reason = failureReason(a, unanswered.length);
    return {
      mcp,
      ...(this.#c.audit?.genAi && { genAi: this.#c.audit.genAi }),
      // ECS error.code is a keyword: the JSON-RPC code as its decimal text.
      ...(a.rpcError && { error: { code: String(a.rpcError.code), message: a.rpcError.message } }),
      ...(reason !== undefined && { outcome: 'failure' as const, reason }),
    };
  }

  /** One chunk: SSE events are rewritten as they complete; a JSON or text body is collected (bounded). */
  #chunk(chunk: Buffer): void {
    if (!this.#masker) throw new ProxyError('ERR_INTERNAL', 'the mcp answer was not prepared');
    if (this.#answer.mode === 'sse') {
      for (const ev of this.#splitter.push(chunk)) {
        this.#answer.events++;
        const f = parseEvent(ev.toString('utf8'));
        this.transform.push(formatEvent({ other: f.other.map((t) => this.#maskText(t)), data: f.data === undefined ? undefined : this.#rewrite(f.data) }));
      }
      return;
    }
    this.#bodyBytes += chunk.length;
    if (this.#bodyBytes > this.#opts.maxMessageBytes) throw this.#tooLarge('an MCP answer');
    this.#body.push(chunk);
  }

  #flush(): void {
    this.#answer.ended = true;
    if (!this.#masker) return;
    if (this.#answer.mode === 'sse') {
      const rest = this.#splitter.rest();
      if (rest.length > 0) this.transform.push(this.#maskText(rest.toString('utf8')));
    } else if (this.#bodyBytes > 0) {
      const text = Buffer.concat(this.#body).toString('utf8');
      this.transform.push(this.#answer.mode === 'json' ? this.#rewrite(text) : this.#maskText(text));
    }
  }

  #tooLarge(what: string): ProxyError {
    return new ProxyError(
      'ERR_UPSTREAM_TOO_LARGE',
      `connection "${this.#req.connection.name}": ${what} larger than options.maxMessageBytes (${this.#opts.maxMessageBytes})`,
    );
  }

  #mask(v: unknown): unknown {
    const m = maskPrompt(this.#masker as Masker, v, MCP_STRUCTURAL_KEYS);
    this.#findings.push(...m.findings);
    return m.body;
  }

  #maskText(s: string): string {
    const r = (this.#masker as Masker).maskText(s);
    this.#findings.push(...r.findings);
    return r.text;
  }

  /** A JSON text from upstream (a body, or an event's data): rewritten, or masked as text when it is no JSON-RPC. */
  #rewrite(text: string): string {
    const msgs = parseUpstream(text);
    if (!msgs) return this.#maskText(text);
    const outs = msgs.map((m) => this.#message(m));
    const batch = text.trimStart().startsWith('[');
    return JSON.stringify(batch ? outs : outs[0]);
  }

  /** One upstream message: masked, its answer noted, a tool list filtered. */
  #message(m: RpcMessage): Record<string, unknown> {
    const out = this.#mask(m.raw) as Record<string, unknown>;
    if (m.type !== 'response' || m.id === null) return out;
    const p = this.#pending.get(String(m.id));
    if (!p) return out;
    const a = this.#answer;
    a.answered.add(String(m.id));
    if ('error' in out) {
      const e = out.error as { code?: unknown; message?: unknown } | null;
      a.rpcError ??= { code: typeof e?.code === 'number' && Number.isInteger(e.code) ? e.code : 0, message: String(e?.message ?? '').slice(0, 1024) };
      return out;
    }
    return this.#result(p, out);
  }

  /** An answer's result: a tool list filtered by policy, a tool call's (or read's) result kept for the record. */
  #result(p: Pending, out: Record<string, unknown>): Record<string, unknown> {
    const req = this.#req;
    const a = this.#answer;
    const res = out.result;
    let sent = out;
    if (p.kind === 'mcp.tools.list' && this.#opts.filterTools && req.services?.policy && res !== null && typeof res === 'object') {
      const f = filterTools(req.services.policy, req.principal, req.connection.name, res as Record<string, unknown>);
      a.tools = { listed: f.listed, hidden: f.hidden.length, hidden_names: f.hidden.slice(0, 100) };
      sent = { ...out, result: f.result };
    }
    if (p.kind === 'mcp.tools.call') {
      a.result = abridgeJson(res, this.#opts.recordChars);
      if ((res as { isError?: unknown } | null)?.isError === true) a.isError = true;
    } else if (p.kind === 'mcp.resources.read' || p.kind === 'mcp.prompts.get') {
      a.result = abridgeJson(res, this.#opts.recordChars);
    }
    return sent;
  }
}

/** The response observer of one MCP POST, GET stream or DELETE (see {@link McpObserver}). */
export function mcpObserver(req: AdapterRequest, c: Classification): ResponseObserver {
  return new McpObserver(req, c);
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
    await store
      .end(conn, asked)
      .catch((err: unknown) =>
        req.services?.log?.warn({ code: (err as { code?: string }).code, connection: conn }, 'ended mcp session not forgotten; it expires with its ttl'),
      );
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
