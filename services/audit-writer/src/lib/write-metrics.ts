import { processMetrics } from '@agentgate/telemetry';
import type { WriteOutcome } from '../sinks/types.js';

/**
 * Counts one write attempt to a sink: stored documents
 * (`agentgate_writer_indexed_total`) and documents the sink refused or
 * could not take (`agentgate_writer_failed_total`: retried, or
 * dead-lettered when refused for good). Already-stored ones count as neither.
 */
export function countWrites(sink: string, outcomes: readonly WriteOutcome[]): void {
  let created = 0;
  let failed = 0;
  for (const o of outcomes) {
    if (o.status === 'created') created++;
    else if (o.status !== 'exists') failed++;
  }
  const m = processMetrics();
  if (created > 0) m.writerIndexed.inc({ sink }, created);
  if (failed > 0) m.writerFailed.inc({ sink }, failed);
}
