import type { Bus } from '@agentgate/bus';
import { type AuditStreamLimits, STREAMS, auditStreamConfig } from '@agentgate/events';

/** Stream limits from `bus.streams` in the configuration. */
export type StreamLimits = AuditStreamLimits;

/** How long start-up waits for the audit writer to drain an AUDIT_CLEAN that must change its retention. */
const DRAIN_WAIT_MS = 30_000;

/**
 * Declares the streams this service reads and writes, each as every service declares it
 * (`auditStreamConfig`). AUDIT_RAW is read: an old stream whose retention differs is kept as it is so
 * this service can drain it (its publisher, the proxy, migrates it). AUDIT_CLEAN is written: this
 * service migrates it once the audit writer has drained it, waiting for that a bounded time.
 */
export async function ensureAuditStreams(bus: Bus, limits: StreamLimits): Promise<{ rawRetention: string }> {
  const raw = await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_RAW, limits), { retentionMismatch: 'keep' });
  await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_CLEAN, limits), { drainWaitMs: DRAIN_WAIT_MS });
  await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_DLQ, limits));
  return { rawRetention: raw.retention };
}
