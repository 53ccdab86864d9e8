import { type Bus, BusError, FillMonitor, type StreamConfig, type StreamFill } from '@agentgate/bus';
import { type AuditEvent, type AuditStreamLimits, auditStreamConfig, encodeEvent, eventMsgId, rawSubject, STREAMS } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import { processMetrics, stage, traceHeaders } from '@agentgate/telemetry';
import { ProxyError } from '../errors.js';
import { OutcomeSpool, type SpoolOptions, type SpoolStats } from './spool.js';

export interface RecorderOptions {
  /** Deadline for the stream's acknowledgement of an intent. */
  timeoutMs: number;
  /** `bus.streams`: the limits every service declares the audit streams with, and the fill alert ratios. */
  stream: AuditStreamLimits & { fillAlerts: readonly number[] };
  /** Where outcome events wait while the bus cannot take them; without it such an outcome is lost (logged). */
  spool?: SpoolOptions;
  /** How long start-up waits for the masking service to drain an AUDIT_RAW whose retention must change (default 30 s). */
  drainWaitMs?: number;
  /** Poll interval of the stream fill levels (default 5 s). */
  fillIntervalMs?: number;
}

/** What readiness reports about the audit path. */
export interface AuditHealth {
  /** False when a new action could not be recorded: the raw stream is full or the outcome spool nearly so. */
  ready: boolean;
  streams: StreamFill[];
  spool: SpoolStats | undefined;
}

/** The raw audit stream as every service declares it (events/subjects.ts): a DiscardNew work queue, delete and purge denied. */
export function auditRawStream(opts: AuditStreamLimits): StreamConfig {
  return auditStreamConfig(STREAMS.AUDIT_RAW, opts);
}

const RETRY_MAX_MS = 5000;

/**
 * How long an outcome event may wait to share a socket write with the next intent: nobody waits on it, and
 * under load the next intent comes long before (one write and one server wake-up per request instead of two).
 */
const OUTCOME_LINGER_MS = 2;

/** The reason of the outcome of an intent that may be on the record although the stream never acknowledged it. */
export const INTENT_UNACKED = 'refused: the audit stream did not acknowledge the intent in time (no record, no action); nothing was sent upstream';

/**
 * Publishes audit events to the durable raw stream. `record` (intents) resolves only once the stream
 * stored the event; every failure becomes ERR_AUDIT_UNAVAILABLE so the caller refuses the action (no
 * record, no action). `recordLater` (outcomes: the action already happened, it cannot be refused after
 * the fact) never loses an event it can keep: what the bus does not take goes to the outcome spool on
 * disk and is replayed in order once the bus takes events again, and at the next start after a crash.
 * Near the spool's bound new actions are refused, so outcomes still fit; past it an outcome is logged
 * at error and counted as dropped.
 */
export class AuditRecorder {
  readonly #bus: Bus;
  readonly #opts: RecorderOptions;
  readonly #log: Logger;
  readonly #metrics = processMetrics();
  #pending = new Set<Promise<void>>();
  #spool: OutcomeSpool | undefined;
  #monitor: FillMonitor;
  #replaying: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #offStatus: (() => void) | undefined;
  #closed = false;
  #spooledThisOutage = 0;

  constructor(bus: Bus, opts: RecorderOptions, log: Logger) {
    this.#bus = bus;
    this.#opts = opts;
    this.#log = log;
    this.#monitor = new FillMonitor(bus.streams, {
      // Every audit stream: a full one stops the pipeline (raw: requests refused; clean: masking stalls, then raw
      // fills; dead letters and checkpoints: their publishers stall).
      streams: Object.values(STREAMS).map((d) => d.name),
      thresholds: opts.stream.fillAlerts,
      intervalMs: opts.fillIntervalMs ?? 5000,
      onChange: ({ fill, level, previous, threshold, top }) => {
        const at = {
          stream: fill.stream,
          retention: fill.retention,
          ratio: Number(fill.ratio.toFixed(3)),
          threshold,
          messages: fill.messages,
          bytes: fill.bytes,
          maxBytes: fill.maxBytes,
          maxMsgs: fill.maxMsgs,
        };
        if (level < previous) this.#log.info(at, 'audit stream level back below the alert threshold');
        else if (top) this.#log.error(at, 'audit stream nearly full: requests are refused once it is full');
        // A work queue fills only while its consumer (masking service, audit writer) is behind; a kept stream grows for good.
        else
          this.#log.warn(
            at,
            fill.retention === 'workqueue'
              ? 'audit stream filling up: its consumer is behind'
              : 'audit stream filling up: it keeps everything, raise its limit or archive it',
          );
      },
    });
  }

  /** Declares the raw stream, opens the outcome spool (replaying what a previous run left) and starts watching the fill levels. */
  async start(): Promise<void> {
    await this.ensureStream();
    if (this.#opts.spool) {
      this.#spool = OutcomeSpool.open(this.#opts.spool);
      const s = this.#spool.stats();
      if (s.recovered > 0 || s.unreadable > 0)
        this.#log.warn({ recovered: s.recovered, unreadable: s.unreadable, path: this.#spool.path }, 'outcome events left by an earlier run: replaying them');
      this.#kick();
    }
    this.#offStatus = this.#bus.onStatus((status) => {
      if (status === 'connected') this.#kick(true);
    });
    this.#monitor.start();
  }

  /** Declares AUDIT_RAW; an old one with another retention is migrated once the masking service has drained it. */
  async ensureStream(): Promise<void> {
    await this.#bus.streams.ensure(auditRawStream(this.#opts.stream), { drainWaitMs: this.#opts.drainWaitMs ?? 30_000 });
  }

  /** Stores one event; throws ProxyError ERR_AUDIT_UNAVAILABLE when the stream does not acknowledge it in time. */
  async record(event: AuditEvent): Promise<void> {
    if (this.#spool?.nearlyFull) {
      // The outcome of this action could not be kept either: refuse it before it happens.
      throw new ProxyError('ERR_AUDIT_UNAVAILABLE', 'the audit outcome spool is full; request refused (no record, no action)');
    }
    await stage('record', () => this.#store(event, encodeEvent(event), false));
  }

  /**
   * Stores the intent of an action (`record`). When it fails in a way that may still have stored it (the
   * acknowledgement did not arrive in time: NATS may have stored it and died before answering), the outcome
   * `refused()` builds is recorded later, so an intent on the record never stays without an outcome; then the
   * error is thrown and the action refused as with any failed intent.
   */
  async recordIntent(intent: AuditEvent, refused: () => AuditEvent): Promise<void> {
    try {
      await this.record(intent);
    } catch (err) {
      if (mayBeStored(err)) this.recordLater(refused());
      throw err;
    }
  }

  /** Stores an outcome without holding the caller: published, else spooled, else logged at error and counted. */
  recordLater(event: AuditEvent): void {
    const p = this.#later(event).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** Fill levels of the audit streams and the spool (readiness); throws when AUDIT_RAW cannot be read. */
  async health(): Promise<AuditHealth> {
    const raw = await this.#bus.streams.fill(STREAMS.AUDIT_RAW.name);
    const streams = (await this.#monitor.check()).map((f) => (f.stream === raw.stream ? raw : f));
    if (!streams.some((f) => f.stream === raw.stream)) streams.unshift(raw);
    const spool = this.#spool?.stats();
    return { ready: raw.ratio < 1 && !this.#spool?.nearlyFull, streams, spool };
  }

  /** Waits for outcome records in flight and one last replay attempt (shutdown); what is left stays spooled for the next start. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
    this.#closed = true;
    this.#monitor.stop();
    this.#offStatus?.();
    this.#wake?.();
    await this.#replaying;
    if (this.#spool && this.#spool.size > 0)
      this.#log.warn({ events: this.#spool.size, path: this.#spool.path }, 'outcome events still spooled at shutdown: replayed at the next start');
    this.#spool?.close();
  }

  async #later(event: AuditEvent): Promise<void> {
    // Behind spooled events, this one waits its turn: the spool replays in order.
    if (!this.#spool || this.#spool.size === 0) {
      try {
        await this.#store(event, encodeEvent(event), true);
        return;
      } catch (err) {
        if (!this.#spool) {
          this.#log.error({ code: codeOf(err), eventId: event.event.id, phase: event.agentgate.action.phase }, 'audit event not stored');
          return;
        }
        this.#spoolIt(event, err);
        return;
      }
    }
    this.#spoolIt(event, undefined);
  }

  #spoolIt(event: AuditEvent, cause: unknown): void {
    const spool = this.#spool!;
    const at = { eventId: event.event.id, phase: event.agentgate.action.phase, actionId: event.agentgate.action.id };
    let stored: boolean;
    try {
      stored = spool.append(event);
    } catch (err) {
      this.#log.error({ ...at, err }, 'audit outcome lost: the spool cannot be written');
      return;
    }
    if (!stored) {
      this.#log.error({ ...at, dropped: spool.stats().dropped, maxBytes: spool.stats().maxBytes }, 'audit outcome lost: the outcome spool is full');
      return;
    }
    if (cause !== undefined && this.#spooledThisOutage++ === 0) {
      this.#log.warn({ ...at, code: codeOf(cause), path: spool.path }, 'audit outcome spooled to disk; replayed once the bus takes it');
    }
    this.#kick();
  }

  /** Starts the replay loop unless it runs; `now` wakes a loop waiting for its next attempt. */
  #kick(now = false): void {
    if (now) this.#wake?.();
    if (this.#replaying || !this.#spool || this.#spool.size === 0 || this.#closed) return;
    this.#replaying = this.#replay().finally(() => {
      this.#replaying = undefined;
    });
  }

  async #replay(): Promise<void> {
    const spool = this.#spool!;
    let failures = 0;
    let replayed = 0;
    let committed = Date.now();
    while (spool.size > 0) {
      const event = spool.peek()!;
      try {
        // The same message id as the first attempt: if that one was stored after all, this is a duplicate the stream drops.
        await this.#store(event, encodeEvent(event), false);
        spool.shift();
        replayed++;
        failures = 0;
        // Progress is made durable now and then (a rewrite of the file): a crash in between replays a few events
        // again, which the stream's message-id de-duplication and the writer's id check absorb.
        if (Date.now() - committed > 5000) {
          spool.commit();
          committed = Date.now();
        }
      } catch {
        spool.commit();
        if (this.#closed) return;
        failures++;
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, Math.min(RETRY_MAX_MS, 100 * 2 ** Math.min(failures, 6)));
          function done(): void {
            clearTimeout(t);
            resolve();
          }
          this.#wake = done;
        });
        this.#wake = undefined;
      }
    }
    spool.commit();
    this.#spooledThisOutage = 0;
    this.#log.info({ replayed }, 'spooled audit outcomes replayed to the stream');
  }

  /**
   * Publishes one event, encoded once by the caller (the bytes serve a retry too). `later`: nobody waits on
   * it (an outcome), so it may share the socket write of the next intent (OUTCOME_LINGER_MS).
   */
  async #store(event: AuditEvent, bytes: Uint8Array, later: boolean): Promise<void> {
    try {
      await this.#publish(event, bytes, later);
    } catch (err) {
      if (err instanceof BusError && (err.code === 'ERR_STREAM_NOT_FOUND' || err.code === 'ERR_STREAM_NO_MATCH')) {
        // The stream was removed behind our back (e.g. a fresh server): declare it again once, then retry.
        try {
          await this.ensureStream();
          await this.#publish(event, bytes, later);
          return;
        } catch (again) {
          throw unavailable(again);
        }
      }
      throw unavailable(err);
    }
  }

  async #publish(event: AuditEvent, bytes: Uint8Array, later: boolean): Promise<void> {
    // The masking service and the writer continue the request's trace from the message headers.
    const headers = traceHeaders();
    const started = process.hrtime.bigint();
    try {
      await this.#bus.streams.publish(rawSubject(event), bytes, {
        msgId: eventMsgId(event),
        timeoutMs: this.#opts.timeoutMs,
        ...(later && { lingerMs: OUTCOME_LINGER_MS }),
        ...(headers && { headers }),
      });
    } catch (err) {
      this.#metrics.auditPublishFailures.inc({ stream: STREAMS.AUDIT_RAW.name, code: codeOf(err) ?? 'ERR_UNKNOWN' });
      throw err;
    }
    this.#metrics.published(STREAMS.AUDIT_RAW.name, Number(process.hrtime.bigint() - started));
  }
}

const codeOf = (err: unknown): string | undefined => (err as { code?: string }).code;

/**
 * Whether a failed `record` may have stored its event all the same: the publish was sent and its
 * acknowledgement never came (timeout) or failed in an unknown way. Refused before sending (bus
 * disconnected, spool nearly full) or by the stream (full, no stream): certainly not stored.
 */
export function mayBeStored(err: unknown): boolean {
  const cause = err instanceof ProxyError ? err.cause : err;
  return cause instanceof BusError && (cause.code === 'ERR_BUS_TIMEOUT' || cause.code === 'ERR_STREAM_PUBLISH');
}

function unavailable(err: unknown): ProxyError {
  const code = err instanceof BusError ? err.code : undefined;
  const why =
    code === 'ERR_STREAM_FULL'
      ? 'the audit stream is full'
      : code === 'ERR_BUS_TIMEOUT'
        ? 'the audit stream did not acknowledge in time'
        : 'the audit stream is unreachable';
  return new ProxyError('ERR_AUDIT_UNAVAILABLE', `${why}; request refused (no record, no action)`, { cause: err });
}
