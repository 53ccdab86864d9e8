import type { ActionEventInput } from '@agentgate/events';
import type { StoredExchange } from '../llm/exchange-store.js';
import type { AdapterServices } from '../types.js';

type Link = NonNullable<ActionEventInput['link']>;

// Looked up on the request path: a slow bucket costs the link, never the call.
const LOOKUP_TIMEOUT_MS = 1000;

/**
 * Whether a model's tool name names this MCP tool. Agents expose MCP tools
 * to the model under a prefixed name (`mcp__github__create_issue`,
 * `github_create_issue`, `github.create_issue`): the model's name is the
 * tool's, or ends with it after a separator.
 */
export function namesTool(modelName: string, tool: string): boolean {
  if (modelName === tool) return true;
  if (!modelName.endsWith(tool)) return false;
  const sep = modelName.charAt(modelName.length - tool.length - 1);
  return sep === '_' || sep === '.' || sep === '-' || sep === '/' || sep === ':';
}

/** JSON with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` compare equal. */
export function canonical(v: unknown, depth = 0): string {
  if (depth > 32) return 'null';
  if (Array.isArray(v)) return `[${v.map((x) => canonical(x, depth + 1)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k], depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function parsed(args: string): unknown {
  try {
    return JSON.parse(args || '{}');
  } catch {
    return undefined;
  }
}

/**
 * The exchange whose tool call proposed this MCP tool call: the newest tool
 * call of the session with the same tool name and the same arguments
 * (compared as canonical JSON, both masked the same way) wins, as
 * `tool-call-match` with that tool call's id; else the latest exchange
 * (`latest-exchange`); without exchanges, no link.
 */
export function pickToolLink(exchanges: readonly StoredExchange[], tool: string | undefined, args: unknown): Link | undefined {
  if (exchanges.length === 0) return undefined;
  const newestFirst = [...exchanges].sort((x, y) => y.at - x.at);
  if (tool !== undefined) {
    const want = canonical(args ?? {});
    for (const ex of newestFirst) {
      for (const call of ex.toolCalls) {
        if (!namesTool(call.name, tool)) continue;
        const got = parsed(call.arguments);
        if (got !== undefined && canonical(got) === want) return { exchange_id: ex.id, ...(call.id && { tool_call_id: call.id }), rule: 'tool-call-match' };
      }
    }
  }
  const latest = newestFirst[0];
  return latest ? { exchange_id: latest.id, rule: 'latest-exchange' } : undefined;
}

/** The session's recent exchanges, or none when the lookup fails or is slow (the link is evidence, not a control). */
export async function recentExchanges(services: AdapterServices, sessionId: string): Promise<StoredExchange[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<StoredExchange[]>((resolve) => {
      timer = setTimeout(() => resolve([]), LOOKUP_TIMEOUT_MS);
    });
    return await Promise.race([services.exchanges.recent(sessionId), timeout]);
  } catch (err) {
    services.log?.warn({ code: (err as { code?: string }).code }, 'correlation lookup failed; mcp call recorded without a link');
    return [];
  } finally {
    clearTimeout(timer);
  }
}
