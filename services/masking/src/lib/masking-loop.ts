import { type BatchReader, type Bus, type Consumer, type StreamMsg, backoffMs, openReader, sleep } from '@agentgate/bus';
import type { DeepReadonly, MaskingConfig } from '@agentgate/config';
import { type AuditEvent, cleanSubject, encodeEvent, eventMsgId } from '@agentgate/events';
import { type Logger, childFor } from '@agentgate/log';
import { carriedTrace, endSpan, messageSpan } from '@agentgate/telemetry';
import { MaskingServiceError } from '../errors.js';
import { deadLetter } from './dead-letter.js';
import { decodeRaw, maskEvent, rawIsCanonical } from './mask-event.js';
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

/** An item on its way: its trace span (undefined when tracing is off) and the trace headers its publishes carry. */
interface Planned extends Item {
  span: ReturnType<typeof messageSpan>;
  headers: Record<string, string> | undefined;
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
      // Nothing masked (the clean event is the decoded one itself) and the raw bytes are exactly its encoding:
      // they go on as they are, rather than serialised again to the same bytes.
      const same = m.clean === event && m.exposures.length === 0 && rawIsCanonical(event);
      const publishes = [m.clean, ...m.exposures].map((e, i) => ({
        subject: cleanSubject(e),
        data: i === 0 && same ? msg.data : encodeEvent(e),
        msgId: eventMsgId(e),
      }));
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
 * The masking service's consuming loop and its state: fetch a batch (the next one is pulled meanwhile)
 * → hold it back while the masklist is unknown → decode → refresh the masklist for unknown refs →
 * in order, group by group: plan (mask or dead-letter) → publish → ack. A group is at most
 * `maxInFlight` publishes, issued in one tick (one socket write); the next group is masked while the
 * previous one's publishes are stored. Anything unfinished is nak'd for redelivery.
 */
export class MaskingLoop {
  readonly stats: MaskingServiceStats = { clean: 0, exposures: 0, deadLettered: 0, retried: 0, batches: 0 };
  #stopping = false;
  #loggedWaiting = false;
  /** Aborted by stop(): cuts a pause short. */
  readonly #abort = new AbortController();
  readonly #p: MaskingLoopParts;
  readonly #reader: BatchReader;

  constructor(parts: MaskingLoopParts) {
    this.#p = parts;
    this.#reader = openReader(parts.consumer, { batch: parts.svc.batch, expiresMs: 1000, lingerMs: parts.svc.lingerMs });
  }

  /** Runs until stop(); the batch read ahead is then handed back (nak) for the next instance. */
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
      let published = true;
      try {
        published = await this.handle(msgs);
      } catch (err) {
        // A bug, not a poison message: handle() handed back what it had not finished, rather than lose or pass it.
        this.#p.logger.error({ code: (err as { code?: unknown }).code, name: (err as Error).name }, 'masking batch failed; redelivering');
        published = false;
      }
      // The clean stream refused (full, unavailable) or a bug: pause rather than spin through the backlog nak'ing it.
      if (!published && !this.#stopping) await sleep(this.#p.svc.retryDelayMs, this.#abort.signal);
    }
    await this.#reader.close();
  }

  /** One batch from AUDIT_RAW; undefined when the pull failed (after a backoff pause; `failures` counts the previous ones). */
  async fetchBatch(failures: number): Promise<StreamMsg[] | undefined> {
    const { svc, logger } = this.#p;
    try {
      return await this.#reader.next();
    } catch (err) {
      const n = failures + 1;
      if (n === 1 || n % 10 === 0) logger.warn({ code: (err as { code?: unknown }).code, failures: n }, 'fetch from AUDIT_RAW failed; retrying');
      await sleep(backoffMs(failures, { baseMs: 250, maxMs: svc.retryDelayMs }), this.#abort.signal);
      return undefined;
    }
  }

  /**
   * Masks, publishes and acks one batch (or hands it back while the masklist is unknown). Resolves
   * false when a publish failed (that event and the rest of the batch were handed back); throws on a
   * bug after handing back every message it had not finished.
   */
  async handle(msgs: StreamMsg[]): Promise<boolean> {
    this.stats.batches++;
    const first = this.holdUntilMasklist(msgs);
    if (!first) return true;
    let decoded: DecodedRaw[];
    try {
      decoded = decodeAll(msgs);
      await this.#p.secrets.refreshForMiss(wantedRefs(decoded, this.#p.refOfConnection));
    } catch (err) {
      for (const m of msgs) this.retry(m);
      throw err;
    }
    return this.publishAll(msgs, decoded, this.#p.secrets.active() ?? first);
  }

  /**
   * Plans and publishes the batch in raw order, group by group (at most `maxInFlight` publishes awaiting
   * their acknowledgement): group k+1 is masked while group k is being stored, then issued once k is
   * done. A raw message is acked once all its publishes are stored. After a failed publish no later
   * group starts: their messages are handed back (a later event overtakes a failed one by at most the
   * group in flight). Resolves false when a publish failed.
   */
  async publishAll(msgs: readonly StreamMsg[], decoded: readonly DecodedRaw[], active: ActiveSecrets): Promise<boolean> {
    const limit = this.#p.svc.maxInFlight;
    let prev: Promise<boolean> | undefined;
    let group: Planned[] = [];
    let n = 0;
    // msgs[i] for i < done are in a group already issued, or handed back.
    let done = 0;
    const handBackFrom = (i: number, planned: readonly Planned[]): void => {
      for (const p of planned) endSpan(p.span);
      for (let j = i; j < msgs.length; j++) this.retry(msgs[j]!);
      done = msgs.length;
    };
    try {
      for (let i = 0; i < msgs.length; i++) {
        const item = this.plan(msgs[i]!, decoded[i]!, active);
        if (group.length > 0 && n + item.publishes.length > limit) {
          if (prev !== undefined && !(await prev)) {
            handBackFrom(done, [...group, item]);
            return false;
          }
          prev = this.issue(group);
          done += group.length;
          group = [];
          n = 0;
        }
        group.push(item);
        n += item.publishes.length;
      }
      if (prev !== undefined && !(await prev)) {
        handBackFrom(done, group);
        return false;
      }
      prev = group.length > 0 ? this.issue(group) : undefined;
      done = msgs.length;
      return prev === undefined ? true : await prev;
    } catch (err) {
      handBackFrom(done, group);
      if (prev !== undefined) await prev;
      throw err;
    }
  }

  /** planItem with its trace span: the span continues the request's trace from the raw message; the clean events carry it on. */
  plan(msg: StreamMsg, event: DecodedRaw, active: ActiveSecrets): Planned {
    const span = messageSpan('agentgate.mask', msg.headers);
    try {
      const item = planItem(msg, event, active, this.#p.logger);
      return Object.assign(item, { span, headers: carriedTrace(msg.headers, span) });
    } catch (err) {
      endSpan(span, err);
      throw err;
    }
  }

  /**
   * Issues every publish of a group in one tick (they leave in order, in one socket write), then counts
   * and acks each raw message whose publishes were all stored; a failed one is handed back. Never
   * rejects: resolves false when an item failed.
   */
  issue(group: readonly Planned[]): Promise<boolean> {
    const outcomes = group.map((item) => this.publishItem(item));
    return Promise.all(outcomes).then((oks) => {
      let all = true;
      for (let i = 0; i < group.length; i++) {
        const item = group[i]!;
        if (!oks[i]) {
          all = false;
          continue;
        }
        if (item.kind === 'clean') {
          this.stats.clean++;
          this.stats.exposures += item.exposures;
        } else {
          this.stats.deadLettered++;
        }
        this.ack(item.msg);
      }
      return all;
    });
  }

  /** Publishes an item's messages (clean event first, then its exposures); false, after handing the raw message back, when one failed. */
  publishItem(item: Planned): Promise<boolean> {
    const { bus, logger } = this.#p;
    const opts = (p: Publish) => ({ msgId: p.msgId, ...(item.headers && { headers: item.headers }) });
    const acks =
      item.publishes.length === 1
        ? bus.streams.publish(item.publishes[0]!.subject, item.publishes[0]!.data, opts(item.publishes[0]!))
        : Promise.all(item.publishes.map((p) => bus.streams.publish(p.subject, p.data, opts(p))));
    return acks.then(
      () => {
        endSpan(item.span);
        return true;
      },
      (err: unknown) => {
        endSpan(item.span, err);
        logger.warn({ code: (err as { code?: unknown }).code, seq: item.msg.seq }, 'publish failed; the raw event will be redelivered');
        this.retry(item.msg);
        return false;
      },
    );
  }

  /**
   * Acks a raw message whose clean event is stored, without waiting for the server's confirmation:
   * a lost ack only means a redelivery, republished under the same ids, which the stream drops.
   */
  ack(msg: StreamMsg): void {
    const failed = (err: unknown): void => void this.#p.logger.warn({ code: (err as { code?: unknown }).code, seq: msg.seq }, 'ack failed after publish');
    if (msg.ackNoWait === undefined) {
      msg.ack().catch(failed);
      return;
    }
    try {
      msg.ackNoWait();
    } catch (err) {
      failed(err);
    }
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
