import type { DeepReadonly, SinkConfig } from '@agentgate/config';
import type { AuditEvent } from '@agentgate/events';
import { createSink } from './sinks/create-sink.js';
import type { TrailQuery } from './sinks/types.js';

/**
 * Events of a session from an OpenSearch / Elasticsearch (or local) sink, sorted by
 * `@timestamp` then chain seq; chain fillers are left out. For `agentgate trail`.
 */
export async function searchTrail(sinkConfig: DeepReadonly<SinkConfig>, opts: TrailQuery & { indexPrefix?: string } = {}): Promise<AuditEvent[]> {
  const { indexPrefix, ...query } = opts;
  const sink = createSink(sinkConfig, indexPrefix ?? 'agentgate-audit');
  try {
    return await sink.readTrail(query);
  } finally {
    await sink.close();
  }
}
