import type { Finding, Masker } from '@agentgate/masking';
import { ProxyError } from '../../errors.js';
import type { AdapterRequest, AdapterServices } from '../types.js';

/**
 * Keys whose values are identifiers or protocol fields, never free text the
 * agent wrote: masking them would break the conversation (a tool call id
 * must match its result) without protecting anything. Everything else that
 * is a string (message text, tool arguments and results, system prompts,
 * tool schemas) is masked.
 */
export const STRUCTURAL_KEYS: ReadonlySet<string> = new Set([
  'id',
  'tool_call_id',
  'call_id',
  'tool_use_id',
  'previous_response_id',
  'model',
  'role',
  'type',
  'name',
  'signature',
  'encrypted_content',
  'stop_reason',
  'finish_reason',
]);

const MAX_DEPTH = 64;

/** A masked request body and what was found in it. */
export interface MaskedPrompt {
  body: unknown;
  findings: Finding[];
}

/**
 * Masks every free-text string of a JSON request body with the prompt
 * masker (brokered values + detectors), except values of `structural` keys.
 * Returns a new value; the input is not changed. Depth is bounded: a deeper
 * body is refused by the caller.
 */
export function maskPrompt(masker: Masker, body: unknown, structural: ReadonlySet<string> = STRUCTURAL_KEYS): MaskedPrompt {
  const findings: Finding[] = [];
  const walk = (v: unknown, key: string | undefined, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new RangeError('request body nests too deeply');
    if (typeof v === 'string') {
      if (key !== undefined && structural.has(key)) return v;
      const r = masker.maskText(v);
      if (r.findings.length > 0) findings.push(...r.findings);
      return r.text;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, undefined, depth + 1));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, k, depth + 1);
      return out;
    }
    return v;
  };
  return { body: walk(body, undefined, 0), findings };
}

/** Same findings merged by type and ref (one entry per kind of secret), for the audit event. */
export function summarize(findings: readonly Finding[]): { count: number; findings: Array<{ type: string; ref?: string; count: number }> } {
  const by = new Map<string, { type: string; ref?: string; count: number }>();
  for (const f of findings) {
    const k = `${f.type}\u0000${f.ref ?? ''}`;
    const cur = by.get(k);
    if (cur) cur.count += f.count;
    else by.set(k, { type: f.type, ...(f.ref !== undefined && { ref: f.ref }), count: f.count });
  }
  const list = [...by.values()];
  return { count: list.reduce((n, f) => n + f.count, 0), findings: list };
}

/** Findings of one request, merged for the audit event (see {@link summarize}). */
export type PromptSummary = ReturnType<typeof summarize>;

/**
 * The prompt masker of the gateway, or a refusal: without it the text
 * cannot be checked for secrets, so it does not leave (fail closed).
 * `messages` are the refusals' texts: no masking configured, masklist unavailable.
 */
export async function promptMaskerOf(
  req: AdapterRequest,
  messages: { missing: string; unavailable: string },
): Promise<{ masker: Masker; services: AdapterServices }> {
  const services = req.services;
  if (!services) throw new ProxyError('ERR_CREDENTIAL_UNAVAILABLE', messages.missing);
  try {
    return { masker: await services.promptMasker(), services };
  } catch (err) {
    throw new ProxyError('ERR_CREDENTIAL_UNAVAILABLE', messages.unavailable, { cause: err });
  }
}

/** The adapter's own refusal of a text holding secrets under `masking.promptSecrets: refuse`; undefined when it may go (masked). */
export function promptRefusal(summary: PromptSummary, promptSecrets: 'mask' | 'refuse', what: string): { rule: string; reason: string } | undefined {
  if (summary.count === 0 || promptSecrets !== 'refuse') return undefined;
  const names = summary.findings.map((f) => f.ref ?? f.type).join(', ');
  return { rule: 'masking.promptSecrets', reason: `${what} contains ${summary.count} secret(s) (${names}); masking.promptSecrets is refuse` };
}
