import type { SinkConfig } from '@agentgate/config';
import type { AuditEvent } from '@agentgate/events';
import { createSink } from './sinks/create-sink.js';

/**
 * Events of a session from an OpenSearch / Elasticsearch (or local) sink, sorted by
 * `@timestamp` then chain seq; chain fillers are left out. For `agentgate trail`.
 */
export async function searchTrail(sinkConfig: Readonly<SinkConfig>, opts: { sessionId?: string; indexPrefix?: string } = {}): Promise<AuditEvent[]> {
  const sink = createSink(sinkConfig, opts.indexPrefix ?? 'agentgate-audit');
  try {
    return await sink.readTrail({ sessionId: opts.sessionId });
  } finally {
    await sink.close();
  }
}
