import { readLocalTrail, searchTrail } from '@agentgate/audit-writer';
import { type Config, loadConfig } from '@agentgate/config';
import { type AuditEvent, buildTrail, clip, type TrailStep } from '@agentgate/events';
import { CliError } from '../errors.js';
import { parseCommandArgs, usageError } from '../lib/args.js';
import type { ExitCode, Output } from '../lib/output.js';
import { resolveStartConfig } from './start.js';

// The fold of events into steps is shared with the console (packages/events/src/trail.ts).
export { buildTrail } from '@agentgate/events';
export type { TrailStep, TrailToolCall } from '@agentgate/events';

function outcomeText(s: TrailStep): string {
  const d = s.decision;
  const rule = d?.rule ? ` (rule ${d.rule})` : '';
  if (s.outcome === 'denied' || d?.effect === 'deny') return `DENIED${rule}${d?.reason ? `: ${clip(d.reason, 120)}` : ''}`;
  const status = s.status !== undefined ? ` ${s.status}` : '';
  // A held action reads as what became of it: still held, rejected/expired, or approved (by whom) and then its outcome.
  let verdict = `allowed${rule}`;
  if (d?.effect === 'review' || s.outcome === 'held' || s.approval) {
    const ap = s.approval;
    const held = `HELD for approval${rule}${ap ? ` [${ap.id}]` : ''}`;
    const settled = s.outcome === 'rejected' || s.outcome === 'expired' ? s.outcome : undefined;
    const state =
      settled ?? (ap?.status && ap.status !== 'pending' ? ap.status : s.outcome === 'held' ? 'pending' : s.outcome === 'requested' ? 'pending' : 'approved');
    if (state === 'pending') return held;
    const by = ap?.approver ? ` by ${ap.approver}` : '';
    if (state !== 'approved') return `${held} → ${state.toUpperCase()}${by}${ap?.reason ? `: ${clip(ap.reason, 120)}` : ''}`;
    verdict = `${held} → approved${by}`;
  }
  if (s.outcome === 'failed') return `${verdict} → FAILED${status}${s.broken ? ' (stream broken)' : ''}`;
  if (s.outcome === 'completed') return `${verdict} → completed${status}`;
  if (s.outcome === 'approved') return `${verdict} (no outcome recorded yet)`;
  return `${verdict} → ${s.outcome} (no outcome recorded)`;
}

// Reads that a client makes several requests for (git: ref advertisement then pack) read as one step.
const READ_KINDS = new Set(['git.fetch', 'http.get', 'http.head', 'kubernetes.get', 'kubernetes.list', 'kubernetes.watch']);

function sameRead(a: TrailStep, b: TrailStep): boolean {
  return (
    READ_KINDS.has(a.kind) &&
    a.kind === b.kind &&
    a.outcome === b.outcome &&
    a.decision?.effect === b.decision?.effect &&
    a.link?.exchangeId === b.link?.exchangeId &&
    !a.masked &&
    !b.masked &&
    !a.exposures &&
    !b.exposures
  );
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
    const what =
      s.kind === 'llm.exchange' ? `llm exchange ${s.connection ?? ''} ${s.model ?? ''}`.replace(/\s+/g, ' ').trim() : `${s.kind}${target ? ` ${target}` : ''}`;
    const num = last === s ? String(s.step).padStart(3) : `${s.step}-${last.step}`.padStart(3);
    out.push(`${num}. ${time}  ${what}  ${outcomeText(s)}`);
    if (s.prompt !== undefined) out.push(`       prompt: "${s.prompt}"`);
    for (const c of s.toolCalls ?? []) out.push(`       tool call ${c.name} [${c.id}]: ${c.summary}`);
    if (s.completion !== undefined && (s.toolCalls ?? []).length === 0) out.push(`       answer: "${s.completion}"`);
    if (s.mcp?.arguments !== undefined) out.push(`       arguments: ${s.mcp.arguments}`);
    if (s.mcp?.result !== undefined) out.push(`       result: ${s.mcp.result}`);
    if (s.mcp?.error !== undefined) out.push(`       error: ${s.mcp.error}`);
    // MCP protocol chatter (initialize, notifications, the server stream) is not proposed by a tool call: no link line.
    if (s.link && !(s.kind.startsWith('mcp.') && s.link.rule === 'latest-exchange' && !s.mcp)) {
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

/**
 * `agentgate trail <session-id> [--config FILE] [--json]`: prints one agent
 * session step by step. Exit 0 when the session has events, 1 when none.
 */
export async function trail(args: string[], io: Output): Promise<ExitCode> {
  const parsed = parseCommandArgs('trail', args, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } }, 1);
  const sessionId = parsed.positionals[0];
  if (!sessionId) throw usageError('trail', 'a session id is required');
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
