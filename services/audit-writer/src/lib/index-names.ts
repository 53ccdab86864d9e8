import { EVENT_SCHEMA_VERSION } from '@agentgate/events';

/**
 * Index layout: one index per UTC day of the event's own `@timestamp`
 * (`<prefix>-v<schema version>-YYYY.MM.DD`), never a rollover alias. The target index is a pure
 * function of the event, so a redelivered event always lands on the same index
 * and `op_type: create` with `_id = event id` turns it into a 409 — whatever day
 * or rollover happened in between. Checkpoints go to `<prefix>.checkpoints`,
 * which the `<prefix>-*` data view and template do not match.
 */
export function dailyIndex(prefix: string, timestamp: string): string {
  // The event layout's version is in the name: a day's index created by the previous
  // version keeps its (strict) mapping, so documents of the new layout need indices of their own.
  return `${prefix}-v${EVENT_SCHEMA_VERSION}-${day(timestamp)}`;
}

function day(timestamp: string): string {
  const d = new Date(timestamp);
  // An unparsable timestamp cannot happen for a validated event; keep it in a visible bucket rather than throw.
  if (Number.isNaN(d.getTime())) return 'invalid-date';
  const y = d.getUTCFullYear();
  const m = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  return `${y}.${m}.${dd}`;
}

/** Pattern matching every daily index of a prefix (of every schema version: the chain spans them). */
export function indexPattern(prefix: string): string {
  return `${prefix}-*`;
}

/** The checkpoints index of a prefix. */
export function checkpointIndex(prefix: string): string {
  return `${prefix}.checkpoints`;
}

/** Local store: one JSON-lines file per UTC day. */
export function dailyFile(timestamp: string): string {
  // Files have no mapping: one name across schema versions (readers upgrade old lines).
  return `audit-${day(timestamp)}.jsonl`;
}
