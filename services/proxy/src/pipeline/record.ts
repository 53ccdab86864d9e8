import { type Bus, BusError, type StreamConfig } from '@agentgate/bus';
import { type AuditEvent, encodeEvent, eventMsgId, rawSubject, STREAMS } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import { ProxyError } from '../errors.js';

export interface RecorderOptions {
  /** Deadline for the stream's acknowledgement of an intent. */
  timeoutMs: number;
  stream: { maxBytes: number; replicas: number };
}

/** The raw audit stream as the proxy declares it: DiscardNew limits, delete and purge denied. */
export function auditRawStream(opts: RecorderOptions['stream']): StreamConfig {
  return {
    name: STREAMS.AUDIT_RAW.name,
    subjects: [...STREAMS.AUDIT_RAW.subjects],
    maxBytes: opts.maxBytes,
    replicas: opts.replicas,
    // The trail is append-only: nobody with bus access may erase it.
    denyDelete: true,
    denyPurge: true,
  };
}

/**
 * Publishes audit events to the durable raw stream. `record` resolves only
 * once the stream stored the event; every failure becomes
 * ERR_AUDIT_UNAVAILABLE so the caller refuses the action (no record, no action).
 */
export class AuditRecorder {
  readonly #bus: Bus;
  readonly #opts: RecorderOptions;
  readonly #log: Logger;
  #pending = new Set<Promise<void>>();

  constructor(bus: Bus, opts: RecorderOptions, log: Logger) {
    this.#bus = bus;
    this.#opts = opts;
    this.#log = log;
  }

  async ensureStream(): Promise<void> {
    await this.#bus.streams.ensure(auditRawStream(this.#opts.stream));
  }

  /** Stores one event; throws ProxyError ERR_AUDIT_UNAVAILABLE when the stream does not acknowledge it in time. */
  async record(event: AuditEvent): Promise<void> {
    try {
      await this.#publish(event);
    } catch (err) {
      if (err instanceof BusError && (err.code === 'ERR_STREAM_NOT_FOUND' || err.code === 'ERR_STREAM_NO_MATCH')) {
        // The stream was removed behind our back (e.g. a fresh server): declare it again once, then retry.
        try {
          await this.ensureStream();
          await this.#publish(event);
          return;
        } catch (again) {
          throw unavailable(again);
        }
      }
      throw unavailable(err);
    }
  }

  /** Stores an event without holding the caller (outcome records); failures are logged, never thrown. */
  recordLater(event: AuditEvent): void {
    const p = this.record(event)
      .catch((err: unknown) => {
        this.#log.error({ code: (err as { code?: string }).code, eventId: event.event.id, phase: event.agentgate.action.phase }, 'audit event not stored');
      })
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** Waits for outcome records still in flight (shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  async #publish(event: AuditEvent): Promise<void> {
    await this.#bus.streams.publish(rawSubject(event), encodeEvent(event), { msgId: eventMsgId(event), timeoutMs: this.#opts.timeoutMs });
  }
}

function unavailable(err: unknown): ProxyError {
  const code = err instanceof BusError ? err.code : undefined;
  const why = code === 'ERR_STREAM_FULL' ? 'the audit stream is full' : code === 'ERR_BUS_TIMEOUT' ? 'the audit stream did not acknowledge in time' : 'the audit stream is unreachable';
  return new ProxyError('ERR_AUDIT_UNAVAILABLE', `${why}; request refused (no record, no action)`, { cause: err });
}
