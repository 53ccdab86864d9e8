import { parseArgs } from 'node:util';
import { readLocalTrail, searchTrail } from '@agentgate/audit-writer';
import { type Config, loadConfig } from '@agentgate/config';
import type { AuditEvent } from '@agentgate/events';
import { CliError } from '../errors.js';
import type { ExitCode, Output } from '../lib/output.js';
import { resolveStartConfig } from './start.js';

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
}

const clip = (s: string, n: number): string => {
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

/** Folds a session's events (any order) into steps, one per action, in the order the actions began. */
export function buildTrail(events: readonly AuditEvent[]): TrailStep[] {
  const sorted = [...events].sort((a, b) => Date.parse(a['@timestamp']) - Date.parse(b['@timestamp']));
  const steps = new Map<string, TrailStep>();
  for (const e of sorted) {
    const a = e.agentgate.action;
    let s = steps.get(a.id);
    if (!s) {
      s = { step: steps.size + 1, actionId: a.id, kind: a.kind, at: e['@timestamp'], outcome: 'requested', ...(a.connection && { connection: a.connection }) };
      steps.set(a.id, s);
    }
    if (a.phase === 'exposure') {
      if (e.agentgate.exposure) s.exposures = [...new Set([...(s.exposures ?? []), e.agentgate.exposure.secret_ref])];
      continue;
    }
    if ((PHASE_RANK[a.phase] ?? 0) >= (PHASE_RANK[s.outcome] ?? 0)) s.outcome = a.phase;
    if (e.agentgate.decision) s.decision = { ...e.agentgate.decision };
    if (e.http?.response?.status_code !== undefined) s.status = e.http.response.status_code;
    const refs = e.agentgate.git?.refs;
    if (refs && refs.length > 0) s.target = refs.map((r) => `${r.ref}${r.kind ? ` (${r.kind})` : ''}`).join(', ');
    else if (!s.target && e.url?.path && !a.kind.startsWith('llm.')) s.target = e.url.path;
    if (e.agentgate.link) s.link = { exchangeId: e.agentgate.link.exchange_id, rule: e.agentgate.link.rule, ...(e.agentgate.link.tool_call_id && { toolCallId: e.agentgate.link.tool_call_id }) };
    if (e.agentgate.masking && e.agentgate.masking.count > 0) {
      const kinds = e.agentgate.masking.findings.map((f) => f.ref ?? f.type);
      s.masked = { count: Math.max(s.masked?.count ?? 0, e.agentgate.masking.count), kinds: [...new Set([...(s.masked?.kinds ?? []), ...kinds])] };
    }
    const llm = e.agentgate.llm as Record<string, unknown> | undefined;
    if (llm) {
      if (typeof llm.model === 'string') s.model = llm.model;
      const prompt = Array.isArray(llm.prompt) ? (llm.prompt as Array<{ role?: string; content?: string }>) : [];
      const user = [...prompt].reverse().find((m) => m.role === 'user') ?? prompt.at(-1);
      if (user?.content) s.prompt = clip(user.content, 120);
      if (typeof llm.completion === 'string' && llm.completion !== '') s.completion = clip(llm.completion, 120);
      if (Array.isArray(llm.tool_calls)) {
        s.toolCalls = (llm.tool_calls as Array<{ id?: string; name?: string; arguments?: string }>).map((c) => ({
          id: String(c.id ?? ''),
          name: String(c.name ?? ''),
          summary: toolSummary(String(c.arguments ?? '')),
        }));
      }
      if (llm.broken === true) s.broken = true;
    }
  }
  const list = [...steps.values()];
  for (const s of list) if (s.link) s.link.exchangeStep = steps.get(s.link.exchangeId)?.step;
  return list;
}

function outcomeText(s: TrailStep): string {
  const d = s.decision;
  const rule = d?.rule ? ` (rule ${d.rule})` : '';
  if (s.outcome === 'denied' || d?.effect === 'deny') return `DENIED${rule}${d?.reason ? `: ${clip(d.reason, 120)}` : ''}`;
  if (d?.effect === 'review' || s.outcome === 'held') return `HELD for approval${rule}`;
  const status = s.status !== undefined ? ` ${s.status}` : '';
  if (s.outcome === 'failed') return `allowed${rule} → FAILED${status}${s.broken ? ' (stream broken)' : ''}`;
  if (s.outcome === 'completed') return `allowed${rule} → completed${status}`;
  return `allowed${rule} → ${s.outcome} (no outcome recorded)`;
}

// Reads that a client makes several requests for (git: ref advertisement then pack) read as one step.
const READ_KINDS = new Set(['git.fetch', 'http.get', 'http.head', 'kubernetes.get', 'kubernetes.list', 'kubernetes.watch']);

function sameRead(a: TrailStep, b: TrailStep): boolean {
  return READ_KINDS.has(a.kind) && a.kind === b.kind && a.outcome === b.outcome && a.decision?.effect === b.decision?.effect && a.link?.exchangeId === b.link?.exchangeId && !a.masked && !b.masked && !a.exposures && !b.exposures;
}

/** Human lines: prompt (abridged) → tool call → action → decision (rule) → outcome; secrets flagged with `!`. */
export function formatTrail(sessionId: string, steps: readonly TrailStep[]): string[] {
  const out = [`session ${sessionId}: ${steps.length} step(s)`];
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i] as TrailStep;
    let last = s;
    while (i + 1 < steps.length && sameRead(s, steps[i + 1] as TrailStep)) last = steps[++i] as TrailStep;
    const time = s.at.slice(11, 19);
    const target = last === s ? s.target : s.target?.replace(/\/(info\/refs|git-upload-pack)$/, '');
    const what = s.kind === 'llm.exchange' ? `llm exchange ${s.connection ?? ''} ${s.model ?? ''}`.replace(/\s+/g, ' ').trim() : `${s.kind}${target ? ` ${target}` : ''}`;
    const num = last === s ? String(s.step).padStart(3) : `${s.step}-${last.step}`.padStart(3);
    out.push(`${num}. ${time}  ${what}  ${outcomeText(s)}`);
    if (s.prompt !== undefined) out.push(`       prompt: "${s.prompt}"`);
    for (const c of s.toolCalls ?? []) out.push(`       tool call ${c.name} [${c.id}]: ${c.summary}`);
    if (s.completion !== undefined && (s.toolCalls ?? []).length === 0) out.push(`       answer: "${s.completion}"`);
    if (s.link) {
      const from = s.link.exchangeStep !== undefined ? `step ${s.link.exchangeStep}` : `exchange ${s.link.exchangeId}`;
      out.push(`       proposed by ${from}${s.link.toolCallId ? ` tool call ${s.link.toolCallId}` : ''} (${s.link.rule})`);
    }
    if (s.masked) out.push(`     ! ${s.masked.count} secret(s) masked: ${s.masked.kinds.join(', ')}`);
    if (s.exposures) out.push(`     ! exposure of brokered secret(s): ${s.exposures.join(', ')}`);
  }
  return out;
}

/** Reads a session's events from the configuration's first sink (local store, OpenSearch or Elasticsearch). */
export async function readTrail(config: Config, sessionId: string): Promise<AuditEvent[]> {
  const sink = config.audit.sinks[0];
  if (!sink) throw new CliError('ERR_CLI_INPUT', 'the configuration has no audit sink to read the trail from');
  if (sink.type === 'local') return readLocalTrail(sink.path, { sessionId });
  return searchTrail(sink, { sessionId, indexPrefix: config.audit.indexPrefix });
}

const USAGE = 'usage: agentgate trail <session-id> [--config FILE] [--json]';

/**
 * `agentgate trail <session-id> [--config FILE] [--json]`: prints one agent
 * session step by step. Exit 0 when the session has events, 1 when none.
 */
export async function trail(args: string[], io: Output): Promise<ExitCode> {
  let parsed: { values: { config?: string | undefined; json?: boolean | undefined }; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new CliError('ERR_CLI_USAGE', `${USAGE} (${(cause as Error).message})`);
  }
  const [sessionId, ...extra] = parsed.positionals;
  if (!sessionId || extra.length > 0) throw new CliError('ERR_CLI_USAGE', USAGE);
  const config = loadConfig({ path: parsed.values.config ?? resolveStartConfig() });
  const steps = buildTrail(await readTrail(config, sessionId));
  if (parsed.values.json) io.out(JSON.stringify({ session: sessionId, steps }));
  else if (steps.length > 0) for (const line of formatTrail(sessionId, steps)) io.out(line);
  if (steps.length === 0) {
    io.err(`no events for session "${sessionId}"`);
    return 1;
  }
  return 0;
}
