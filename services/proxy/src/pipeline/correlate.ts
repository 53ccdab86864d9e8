import type { Principal } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import { pickLink } from '../adapters/llm/match.js';
import { ProxyError } from '../errors.js';
import type { AdapterServices, Classification } from '../adapters/types.js';
import type { StoredExchange } from '../adapters/llm/exchange-store.js';

// Correlation is looked up on the request path: a slow bucket costs the link, never the action.
const LOOKUP_TIMEOUT_MS = 1000;

/**
 * Links a non-llm action to the llm exchange of its session that proposed
 * it (see adapters/llm/match.ts for the rules). Returns the classification
 * with `audit.link` set, or the same one when there is nothing to link.
 * Best effort: a lookup failure is logged and the action goes on unlinked
 * (the link is evidence, not a control). `log` is lazy: a child logger per
 * request costs more than the lookup (pino compiles its redaction per child).
 */
export async function correlate(services: AdapterServices | undefined, principal: Principal, c: Classification, log: () => Logger): Promise<Classification> {
  if (!services || c.kind.startsWith('llm.') || c.audit?.link) return c;
  // From memory when the store can answer at once (its watch is live): no timer, no race.
  const now = services.exchanges.recentNow?.(principal.sessionId);
  if (now) return linked(c, now);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProxyError('ERR_CORRELATION_TIMEOUT')), LOOKUP_TIMEOUT_MS);
    });
    return linked(c, await Promise.race([services.exchanges.recent(principal.sessionId), timeout]));
  } catch (err) {
    log().warn({ code: (err as { code?: string }).code }, 'correlation lookup failed; action recorded without a link');
    return c;
  } finally {
    clearTimeout(timer);
  }
}

/** The classification with its link to the exchange that proposed it, or the same one when none did. */
function linked(c: Classification, exchanges: readonly StoredExchange[]): Classification {
  // A session without llm exchanges (most requests of a plain CI job) links nothing.
  if (exchanges.length === 0) return c;
  const refs = c.audit?.git?.refs ? c.audit.git.refs.map((r) => ({ ref: r.ref, kind: r.kind })) : refsOf(c.attributes);
  const link = pickLink(exchanges, { kind: c.kind, attributes: c.attributes, refs });
  return link ? { ...c, audit: { ...c.audit, link } } : c;
}

/** Refs from policy attributes (`ref` or `refs`), when an adapter gives no git audit fields. */
function refsOf(attrs: Record<string, unknown>): Array<{ ref: string }> {
  const list = Array.isArray(attrs.refs) ? attrs.refs : typeof attrs.ref === 'string' ? [attrs.ref] : [];
  return list
    .map((r: unknown) => (typeof r === 'string' ? r : typeof (r as { ref?: unknown })?.ref === 'string' ? (r as { ref: string }).ref : undefined))
    .filter((r): r is string => r !== undefined)
    .map((ref) => ({ ref }));
}
