import type { Bus } from '@agentgate/bus';
import { dlqSubject, type AuditEvent } from '@agentgate/events';
import { processMetrics } from '@agentgate/telemetry';

/** What the writer puts on the dead-letter stream. */
export interface DeadLetter {
  stage: 'writer';
  /** Why it was not indexed (index error text or validation error, never a credential: events are masked upstream). */
  reason: string;
  partition: string;
  /** Stream sequence of the original message in AUDIT_CLEAN. */
  streamSeq: number;
  /** The sealed event (its chain slot holds a filler), when it could be decoded. */
  event?: AuditEvent;
  /** The raw message, base64, when it could not be decoded. */
  raw?: string;
  time: string;
}

/**
 * Publishes a dead letter and resolves only once the DLQ stream stored it: the original
 * is acked after this, so an event is never dropped without a trace. The msg id makes a
 * repeat after a crash a duplicate the stream ignores.
 */
export async function publishDeadLetter(bus: Bus, dl: DeadLetter, msgId: string): Promise<void> {
  await bus.streams.publish(dlqSubject('writer'), JSON.stringify(dl), { msgId, timeoutMs: 10_000 });
  processMetrics().writerDeadLettered.inc();
}
