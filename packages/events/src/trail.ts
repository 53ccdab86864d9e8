import type { AuditEvent, GenAiMessage } from './types.js';

/** One tool call of an exchange, as the trail shows it. */
export interface TrailToolCall {
  id: string;
  name: string;
  /** The command for shell-like tools, else the arguments JSON (abridged). */
  summary: string;
}

/** One step of a session: an llm exchange or an action, with everything recorded about it. */
export interface TrailStep {
  step: number;
  actionId: string;
  kind: string;
  at: string;
  connection?: string;
  /** Refs of a git action, else the URL path. */
  target?: string;
  model?: string;
  /** The last user message of an exchange (abridged). */
  prompt?: string;
  toolCalls?: TrailToolCall[];
  completion?: string;
  /** An action's link to the exchange that proposed it. */
  link?: { exchangeId: string; exchangeStep?: number; toolCallId?: string; rule: string };
  decision?: { effect: string; rule?: string; reason?: string };
  /** Last phase recorded: completed, failed, denied, requested (no outcome recorded)… */
  outcome: string;
  status?: number;
  /** Secrets masked in the traffic of this step. */
  masked?: { count: number; kinds: string[] };
  /** Brokered secrets the masking service saw (exposure events). */
  exposures?: string[];
  broken?: boolean;
  /** An MCP message: what went in and came back (masked, abridged). */
  mcp?: { arguments?: string; result?: string; error?: string };
  /** The approval the action was held for: its status and, once decided, who decided and why. */
  approval?: { id: string; status: string; approver?: string; reason?: string; decidedAt?: string };
}

/** One line, at most `n` characters. */
export const clip = (s: string, n: number): string => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
};

function toolSummary(args: string): string {
  try {
    const v = JSON.parse(args) as Record<string, unknown>;
    for (const key of ['command', 'cmd', 'script', 'input']) if (typeof v[key] === 'string') return clip(v[key] as string, 160);
    return clip(JSON.stringify(v), 160);
  } catch {
    return clip(args, 160);
  }
}

const PHASE_RANK: Record<string, number> = { requested: 0, held: 1, approved: 2, rejected: 3, expired: 3, denied: 3, completed: 4, failed: 4 };
/** Phases whose `event.reason` is the policy decision's reason (later phases carry the outcome's or the approver's). */
const DECISION_PHASES = new Set(['requested', 'held', 'denied']);

const textOf = (m: GenAiMessage | undefined): string =>
  (m?.parts ?? [])
    .filter((p) => p.type === 'text')
    .map((p) => (p as { content: string }).content)
    .join('\n');

const oneOf = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Folds a session's events (any order) into steps, one per action, in the order the actions began. */
export function buildTrail(events: readonly AuditEvent[]): TrailStep[] {
  const sorted = [...events].sort((a, b) => Date.parse(a['@timestamp']) - Date.parse(b['@timestamp']));
  const steps = new Map<string, TrailStep>();
  for (const e of sorted) {
    const a = e.agentgate.action;
    let s = steps.get(a.id);
    if (!s) {
      s = {
        step: steps.size + 1,
        actionId: a.id,
        kind: e.event.action,
        at: e['@timestamp'],
        outcome: 'requested',
        ...(a.connection && { connection: a.connection }),
      };
      steps.set(a.id, s);
    }
    if (a.phase === 'exposure') {
      if (e.agentgate.exposure) s.exposures = [...new Set([...(s.exposures ?? []), e.agentgate.exposure.secret_ref])];
      continue;
    }
    if ((PHASE_RANK[a.phase] ?? 0) >= (PHASE_RANK[s.outcome] ?? 0)) s.outcome = a.phase;
    const d = e.agentgate.decision;
    if (d) {
      const rule = e.rule?.name ?? s.decision?.rule;
      const reason = DECISION_PHASES.has(a.phase) && e.event.reason !== undefined ? e.event.reason : s.decision?.reason;
      s.decision = { effect: d.effect, ...(rule !== undefined && { rule }), ...(reason !== undefined && { reason }) };
    }
    if (e.http?.response?.status_code !== undefined) s.status = e.http.response.status_code;
    const refs = e.agentgate.git?.refs;
    if (refs && refs.length > 0) s.target = refs.map((r) => `${r.ref}${r.kind ? ` (${r.kind})` : ''}`).join(', ');
    else if (e.agentgate.mcp) s.target = oneOf(e.gen_ai?.tool?.name) ?? e.agentgate.mcp.uri ?? e.agentgate.mcp.prompt ?? s.target;
    else if (!s.target && e.url?.path && !e.event.action.startsWith('llm.')) s.target = e.url.path;
    const m = e.agentgate.mcp;
    const err = m ? e.error : undefined;
    if (m && (m.arguments !== undefined || m.result !== undefined || err !== undefined)) {
      s.mcp = {
        ...s.mcp,
        ...(m.arguments !== undefined && { arguments: clip(m.arguments, 160) }),
        ...(m.result !== undefined && { result: clip(m.result, 160) }),
        ...(err !== undefined && { error: clip(`${err.code ?? ''}: ${err.message ?? ''}`, 160) }),
      };
    }
    const ap = e.agentgate.approval;
    if (ap) {
      s.approval = {
        id: ap.id,
        status: ap.status,
        ...(ap.approver && { approver: ap.approver.subject }),
        ...(ap.reason !== undefined && { reason: ap.reason }),
        ...(ap.decided_at !== undefined && { decidedAt: ap.decided_at }),
        ...(s.approval?.approver && !ap.approver && { approver: s.approval.approver }),
      };
    }
    const toolCallId = oneOf(e.gen_ai?.tool?.call?.id);
    if (e.agentgate.link) s.link = { exchangeId: e.agentgate.link.exchange_id, rule: e.agentgate.link.rule, ...(toolCallId && { toolCallId }) };
    if (e.agentgate.masking && e.agentgate.masking.count > 0) {
      const kinds = e.agentgate.masking.findings.map((f) => f.ref ?? f.type);
      s.masked = { count: Math.max(s.masked?.count ?? 0, e.agentgate.masking.count), kinds: [...new Set([...(s.masked?.kinds ?? []), ...kinds])] };
    }
    const g = e.gen_ai;
    if (e.event.action.startsWith('llm.') && g) {
      const model = g.response?.model ?? g.request?.model;
      if (model !== undefined) s.model = model;
      const input = g.input?.messages ?? [];
      const user = [...input].reverse().find((m) => m.role === 'user') ?? input.at(-1);
      const prompt = textOf(user);
      if (prompt !== '') s.prompt = clip(prompt, 120);
      const out = g.output?.messages;
      if (out) {
        const completion = out.map(textOf).join('\n');
        if (completion !== '') s.completion = clip(completion, 120);
        s.toolCalls = out.flatMap((msg) =>
          msg.parts.flatMap((p) => (p.type === 'tool_call' ? [{ id: p.id ?? '', name: p.name, summary: toolSummary(p.arguments ?? '') }] : [])),
        );
      }
    }
    if (e.agentgate.llm?.broken === true) s.broken = true;
  }
  const list = [...steps.values()];
  for (const s of list) if (s.link) s.link.exchangeStep = steps.get(s.link.exchangeId)?.step;
  return list;
}
