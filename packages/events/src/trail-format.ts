import { clip, type TrailStep } from './trail.js';

// The human form of a session's trail (`agentgate trail`, `agentgate demo`): pure formatting of
// the steps buildTrail folds, here so every package that shows or tests a trail shares it.

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
