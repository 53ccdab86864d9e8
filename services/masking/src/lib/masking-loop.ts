import { type Bus, type Consumer, type StreamMsg, backoffMs, sleep } from '@agentgate/bus';
import type { DeepReadonly, MaskingConfig } from '@agentgate/config';
import { type AuditEvent, cleanSubject, encodeEvent, eventMsgId } from '@agentgate/events';
import { type Logger, childFor } from '@agentgate/log';
import { carriedTrace, endSpan, messageSpan } from '@agentgate/telemetry';
import { MaskingServiceError } from '../errors.js';
import { deadLetter } from './dead-letter.js';
import { decodeRaw, maskEvent } from './mask-event.js';
import { inOrderWindow } from './publish-window.js';
import type { ActiveSecrets, SecretSet } from './secret-set.js';

/** Counters since start. */
export interface MaskingServiceStats {
  /** Raw events published to the clean stream and acked. */
  clean: number;
  /** Exposure events published. */
  exposures: number;
  /** Raw messages dead-lettered and acked. */
  deadLettered: number;
  /** Raw messages handed back for redelivery (no masklist yet, publish failed). */
  retried: number;
  batches: number;
}

/** One message to publish. */
export interface Publish {
  subject: string;
  data: Uint8Array;
  msgId: string;
}

/** What becomes of one raw message: its clean event and exposures, or one dead letter. */
export interface Item {
  msg: StreamMsg;
  kind: 'clean' | 'dlq';
  publishes: Publish[];
  exposures: number;
}

/** A raw message decoded, or the reason it cannot be (it is dead-lettered). */
export type DecodedRaw = AuditEvent | MaskingServiceError;

/** What the loop works with; built once by startMaskingService. */
export interface MaskingLoopParts {
  bus: Bus;
  consumer: Consumer;
  secrets: SecretSet;
  /** The `masking.service` section (defaults from @agentgate/config). */
  svc: DeepReadonly<MaskingConfig['service']>;
  /** Connection name → the ref of its brokered credential (an event naming it needs that value known). */
  refOfConnection: ReadonlyMap<string, string>;
  logger: Logger;
}

/** Decodes each raw message; one that is not an event becomes the error it is dead-lettered with. */
export function decodeAll(msgs: readonly StreamMsg[]): DecodedRaw[] {
  return msgs.map((m) => {
    try {
      return decodeRaw(m.data);
    } catch (err) {
      if (err instanceof MaskingServiceError) return err;
      throw err;
    }
  });
}

/** The refs of the brokered credentials the decoded events' connections use. */
export function wantedRefs(decoded: readonly DecodedRaw[], refOfConnection: ReadonlyMap<string, string>): Set<string> {
  const wanted = new Set<string>();
  for (const e of decoded) {
    const conn = e instanceof MaskingServiceError ? undefined : e.agentgate.action.connection;
    const ref = conn === undefined ? undefined : refOfConnection.get(conn);
    if (ref !== undefined) wanted.add(ref);
  }
  return wanted;
}

/**
 * Masks one decoded event into what to publish: its clean event and one exposure event per
 * brokered secret found; or, for an undecodable event or a masking failure, one dead letter
 * (masked as far as the masker can). Throws only for a bug (an error that is not a MaskingServiceError).
 */
export function planItem(msg: StreamMsg, event: DecodedRaw, active: ActiveSecrets, logger: Logger): Item {
  let error = event instanceof MaskingServiceError ? event : undefined;
  if (!error) {
    try {
      const m = maskEvent(event as AuditEvent, active);
      const publishes = [m.clean, ...m.exposures].map((e) => ({ subject: cleanSubject(e), data: encodeEvent(e), msgId: eventMsgId(e) }));
      return { msg, kind: 'clean', publishes, exposures: m.exposures.length };
    } catch (err) {
      if (!(err instanceof MaskingServiceError)) throw err;
      error = err;
    }
  }
  const ev = event instanceof MaskingServiceError ? undefined : event;
  // Ids only: the event failed before masking, so none of its content may reach the log.
  childFor(logger, { msgId: ev?.event.id, sessionId: ev?.agentgate.session.id, actionId: ev?.agentgate.action.id }).warn(
    { code: error.code, seq: msg.seq, deliveryCount: msg.deliveryCount },
    'raw event dead-lettered',
  );
  const dl = deadLetter(msg, { code: error.code, message: error.message }, active.masker);
  return { msg, kind: 'dlq', publishes: [dl], exposures: 0 };
}

/**
 * The masking service's consuming loop and its state: fetch a batch → hold it back while the
 * masklist is unknown → decode → refresh the masklist for unknown refs → per event, in order with
 * a window: plan (mask or dead-letter) → publish → ack. Anything unfinished is nak'd for redelivery.
 */
export class MaskingLoop {
  readonly stats: MaskingServiceStats = { clean: 0, exposures: 0, deadLettered: 0, retried: 0, batches: 0 };
  #stopping = false;
  #loggedWaiting = false;
  /** Aborted by stop(): cuts a pause short. */
  readonly #abort = new AbortController();
  readonly #p: MaskingLoopParts;

  constructor(parts: MaskingLoopParts) {
    this.#p = parts;
  }

  /** Runs until stop(). */
  async run(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      const msgs = await this.fetchBatch(failures);
      if (msgs === undefined) {
        failures++;
        continue;
      }
      failures = 0;
      if (msgs.length === 0) continue;
      // On the in-process bus fetch, publish and ack all settle as microtasks: yield to the event loop between
      // batches so a backlog never starves the other services sharing the process (and stop() can be seen).
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#p.secrets.active()) this.#loggedWaiting = false;
      try {
        await this.handle(msgs);
      } catch (err) {
        // A bug, not a poison message: hand the batch back rather than lose or pass it.
        this.#p.logger.error({ code: (err as { code?: unknown }).code, name: (err as Error).name }, 'masking batch failed; redelivering');
        for (const m of msgs) this.retry(m);
        await sleep(this.#p.svc.retryDelayMs, this.#abort.signal);
      }
    }
  }

  /** One pull from AUDIT_RAW; undefined when it failed (after a backoff pause; `failures` counts the previous ones). */
  async fetchBatch(failures: number): Promise<StreamMsg[] | undefined> {
    const { consumer, svc, logger } = this.#p;
    try {
      return await consumer.fetch({ batch: svc.batch, expiresMs: 1000 });
    } catch (err) {
      const n = failures + 1;
      if (n === 1 || n % 10 === 0) logger.warn({ code: (err as { code?: unknown }).code, failures: n }, 'fetch from AUDIT_RAW failed; retrying');
      await sleep(backoffMs(failures, { baseMs: 250, maxMs: svc.retryDelayMs }), this.#abort.signal);
      return undefined;
    }
  }

  /** Masks, publishes and acks one batch (or hands it back while the masklist is unknown). */
  async handle(msgs: StreamMsg[]): Promise<void> {
    this.stats.batches++;
    const first = this.holdUntilMasklist(msgs);
    if (!first) return;
    const decoded = decodeAll(msgs);
    await this.#p.secrets.refreshForMiss(wantedRefs(decoded, this.#p.refOfConnection));
    const active = this.#p.secrets.active() ?? first;
    await inOrderWindow(
      msgs.map((_, i) => i),
      this.#p.svc.maxInFlight,
      (i) => this.processOne(msgs[i]!, decoded[i]!, active),
      (i) => this.retry(msgs[i]!),
    );
  }

  /** The masker with the brokered values, or undefined after handing the batch back (fail closed). */
  holdUntilMasklist(msgs: readonly StreamMsg[]): ActiveSecrets | undefined {
    const active = this.#p.secrets.active();
    if (active) return active;
    // Fail closed: without the brokered values an exposed secret would pass in clear.
    if (!this.#loggedWaiting)
      this.#p.logger.warn({ code: 'ERR_MASKSVC_MASKLIST_UNAVAILABLE' }, 'waiting for the masklist from the secret broker; events held back');
    this.#loggedWaiting = true;
    void this.#p.secrets.refresh();
    for (const m of msgs) this.retry(m);
    return undefined;
  }

  /** Plan → publish → count → ack for one message; on failure it is handed back and the error rethrown (the window stops). */
  async processOne(msg: StreamMsg, event: DecodedRaw, active: ActiveSecrets): Promise<void> {
    // Continues the request's trace from the raw message; the clean events carry it on to the writer.
    const span = messageSpan('agentgate.mask', msg.headers);
    let item: Item;
    try {
      // Masked inside the window, so this event's CPU work overlaps the previous events' publishes.
      item = planItem(msg, event, active, this.#p.logger);
    } catch (err) {
      this.retry(msg);
      throw err;
    }
    await this.publish(item, carriedTrace(msg.headers, span)).catch((err: unknown) => {
      endSpan(span, err);
      throw err;
    });
    endSpan(span);
    if (item.kind === 'clean') {
      this.stats.clean++;
      this.stats.exposures += item.exposures;
    } else {
      this.stats.deadLettered++;
    }
    try {
      await msg.ack();
    } catch (err) {
      // Already stored under its id: a redelivery republishes a duplicate that the stream drops.
      this.#p.logger.warn({ code: (err as { code?: unknown }).code, seq: msg.seq }, 'ack failed after publish');
    }
  }

  /** Publishes an item's messages in order, each stored before the next; on failure the raw message is handed back. */
  async publish(item: Item, headers?: Record<string, string>): Promise<void> {
    try {
      for (const p of item.publishes) await this.#p.bus.streams.publish(p.subject, p.data, { msgId: p.msgId, ...(headers && { headers }) });
    } catch (err) {
      this.#p.logger.warn({ code: (err as { code?: unknown }).code, seq: item.msg.seq }, 'publish failed; the raw event will be redelivered');
      this.retry(item.msg);
      throw err;
    }
  }

  /** Hands a raw message back for redelivery after `retryDelayMs`. */
  retry(msg: StreamMsg): void {
    msg.nak(this.#p.svc.retryDelayMs);
    this.stats.retried++;
  }

  /** Stops fetching and wakes a pause; the caller then awaits run(). */
  stop(): void {
    this.#stopping = true;
    this.#abort.abort();
  }
}
