import type { Bus, Consumer } from '@agentgate/bus';
import { type AuditStreamLimits, STREAMS, auditStreamConfig } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import { processMetrics } from '@agentgate/telemetry';

/** Durable consumer name shared by every writer instance (they split the stream between them). */
export const WRITER_DURABLE = 'audit-writer';

/**
 * Declares the streams the writer reads and writes, as every service declares them
 * (`auditStreamConfig`), and binds the shared durable consumer on AUDIT_CLEAN. AUDIT_CLEAN is a work
 * queue: an event leaves it when this consumer acks it, which the writer does only once every sink
 * holds it. An older AUDIT_CLEAN with another retention is kept as it is so the writer can drain it
 * (the masking service, its publisher, migrates it once drained).
 */
export async function bindWriterStreams(
  bus: Bus,
  limits: AuditStreamLimits,
  consumer: { ackWaitMs: number; maxAckPending: number },
  log: Logger,
): Promise<Consumer> {
  const clean = await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_CLEAN, limits), { retentionMismatch: 'keep' });
  if (clean.retention !== STREAMS.AUDIT_CLEAN.retention) {
    log.warn(
      { stream: clean.name, retention: clean.retention, wanted: STREAMS.AUDIT_CLEAN.retention },
      'AUDIT_CLEAN still has its old retention: draining it; the masking service migrates it once drained (README: upgrading the audit streams)',
    );
  }
  // The dead letters and the checkpoints are evidence: kept (limits), nobody deletes or purges them.
  await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_DLQ, limits));
  await bus.streams.ensure(auditStreamConfig(STREAMS.AUDIT_CHECKPOINTS, limits));
  const bound = await bus.streams.consumer(STREAMS.AUDIT_CLEAN.name, { durable: WRITER_DURABLE, ...consumer });
  // Its backlog is reported at every scrape (agentgate_stream_consumer_pending_messages): the writer's lag.
  processMetrics().watchConsumer(bound);
  return bound;
}
