import type { Principal } from '@agentgate/events';
import type { PolicyPort } from '../../lib/ports.js';

/** What filtering did to one `tools/list` answer. */
export interface FilteredTools {
  result: Record<string, unknown>;
  listed: number;
  hidden: string[];
}

/**
 * Drops from a `tools/list` result the tools the principal can never call.
 *
 * The rule: policy is asked, for each listed tool, about `mcp.tools.call`
 * with `attrs.tool` set and `attrs.arguments` left out
 * (`Policy.certainDenial`). A condition that reads the arguments cannot be
 * evaluated then and counts as unknown: it might go either way. A tool is
 * hidden only when every way through the rules ends in a deny, e.g. a deny
 * rule whose condition tests only the tool name (`attrs.tool.startsWith(
 * 'delete_')`), or the policy default for a tool no allow rule names. A tool
 * that is denied for some arguments only (`attrs.arguments.env == 'prod'`),
 * or held for review, stays listed: its calls are decided one by one.
 * Filtering only hides; every call is still decided on its own.
 */
export function filterTools(policy: PolicyPort, principal: Principal, connection: string, result: Record<string, unknown>): FilteredTools {
  const tools = result.tools;
  if (!Array.isArray(tools) || !policy.certainDenial) return { result, listed: Array.isArray(tools) ? tools.length : 0, hidden: [] };
  const hidden: string[] = [];
  const kept = tools.filter((t: unknown) => {
    const name = (t as { name?: unknown } | null)?.name;
    // A tool without a name cannot be called by name: passed on for the client to reject.
    if (typeof name !== 'string') return true;
    const denied = policy.certainDenial?.(principal, { kind: 'mcp.tools.call', connection, attributes: { method: 'tools/call', tool: name } });
    if (denied) hidden.push(name);
    return !denied;
  });
  return { result: hidden.length > 0 ? { ...result, tools: kept } : result, listed: kept.length, hidden };
}
