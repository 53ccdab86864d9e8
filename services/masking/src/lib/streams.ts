import type { Bus, StreamConfig } from '@agentgate/bus';
import { STREAMS } from '@agentgate/events';

/** Stream limits from `bus.streams` in the configuration. */
export interface StreamLimits {
  maxBytes: number;
  replicas: number;
}

/**
 * The three streams as their other owners declare them, setting for setting:
 * AUDIT_RAW as the proxy (services/proxy/src/pipeline/record.ts), AUDIT_CLEAN
 * and AUDIT_DLQ as the audit writer (services/audit-writer/src/writer.ts).
 * `ensure` updates a stream to the config it is given, so any difference
 * would flip the stream's settings back and forth between services.
 */
export function auditStreamConfigs(limits: StreamLimits): { raw: StreamConfig; clean: StreamConfig; dlq: StreamConfig } {
  const base = { maxBytes: limits.maxBytes, replicas: limits.replicas };
  return {
    // The trail is append-only: nobody with bus access may erase raw events or dead letters.
    raw: { name: STREAMS.AUDIT_RAW.name, subjects: [...STREAMS.AUDIT_RAW.subjects], ...base, denyDelete: true, denyPurge: true },
    clean: { name: STREAMS.AUDIT_CLEAN.name, subjects: [...STREAMS.AUDIT_CLEAN.subjects], ...base },
    dlq: { name: STREAMS.AUDIT_DLQ.name, subjects: [...STREAMS.AUDIT_DLQ.subjects], ...base, denyDelete: true, denyPurge: true },
  };
}

/** Declares the streams this service reads and writes (idempotent). */
export async function ensureAuditStreams(bus: Bus, limits: StreamLimits): Promise<void> {
  const c = auditStreamConfigs(limits);
  await bus.streams.ensure(c.raw);
  await bus.streams.ensure(c.clean);
  await bus.streams.ensure(c.dlq);
}
