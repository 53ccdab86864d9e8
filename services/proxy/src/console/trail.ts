import { readLocalTrail, searchTrail, type TrailQuery } from '@agentgate/audit-writer';
import type { Config } from '@agentgate/config';
import type { AuditEvent } from '@agentgate/events';

/** Reads events for the console. */
export type TrailReader = (q: TrailQuery) => Promise<AuditEvent[]>;

/**
 * The console reads the trail where `agentgate trail` does: the first audit
 * sink (the local store with `npm start`, else OpenSearch / Elasticsearch).
 * Everything it returns was masked on the audit path before it was stored.
 */
export function trailReader(config: Pick<Config, 'audit'>): TrailReader {
  return async (q) => {
    const sink = config.audit.sinks[0];
    if (!sink) return [];
    if (sink.type === 'local') return readLocalTrail(sink.path, q);
    return searchTrail(sink, { ...q, indexPrefix: config.audit.indexPrefix });
  };
}
