import type { Finding } from '@agentgate/masking';
import { processMetrics } from '@agentgate/telemetry';

/**
 * Counts one masked event: `agentgate_masking_events_total{result}` (clean:
 * nothing found, masked: something was) and its findings by detector type
 * (`agentgate_masking_findings_total{where="event"}`). A redelivered event
 * is masked, and counted, again.
 */
export function countMasked(findings: readonly Finding[]): void {
  const m = processMetrics();
  m.maskingEvents.inc({ result: findings.length > 0 ? 'masked' : 'clean' });
  for (const f of findings) m.maskingFindings.inc({ type: f.type, where: 'event' }, f.count);
}

/** Counts an event the masking service dead-lettered (`result="failed"`). */
export function countFailed(): void {
  processMetrics().maskingEvents.inc({ result: 'failed' });
}
