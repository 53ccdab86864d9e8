import { JetStreamApiError } from '@nats-io/jetstream';
import { createInbox, type Msg as NatsMsg, type NatsConnection, type Subscription as NatsSubscription, headers as natsHeaders } from '@nats-io/transport-node';
import { BusError } from '../errors.js';
import type { Headers, PubAck } from '../types.js';
import { apiErrorCode, mapNatsError } from './errors-map.js';

/** One durable publish waiting for its turn on the socket, then for its acknowledgement. */
interface Pending {
  subject: string;
  data: Uint8Array;
  msgId: string | undefined;
  headers: Headers | undefined;
  timeoutMs: number;
  token: string;
  resolve: (ack: PubAck) => void;
  reject: (err: BusError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const decoder = new TextDecoder();

interface AckBody {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code: number; err_code?: number; description?: string };
}

/**
 * JetStream publishes with their acknowledgements, pipelined: every publish carries a reply subject on
 * one wildcard inbox subscription of this client (under the connection's inbox prefix, so per-service
 * permissions `_INBOX_<svc>.>` still hold) and this class matches the acks to the publishes itself.
 *
 * Why not `js.publish`: that is one `nc.request` per message, each with its own socket write (the
 * client flushes per task) and, on success, a `RequestError("cancelled")` built by the request's
 * cleanup; at a few thousand publishes a second the writes alone were a quarter of the proxy's CPU.
 * Here the publishes made while the event loop handled one batch of I/O are written together at the
 * end of it (`setImmediate`: one write for all of them, no added wait when there is only one), and an
 * ack costs a map lookup and a JSON parse.
 *
 * Semantics are those of `js.publish`: the promise resolves once the stream stored the message (or
 * recognised its `Nats-Msg-Id` as a duplicate); a JetStream error reply, no stream on the subject (a
 * 503 no-responders status) and a missing ack within `timeoutMs` (ERR_BUS_TIMEOUT: it may have been
 * stored) reject with a typed BusError.
 */
export class JsPublisher {
  readonly #nc: NatsConnection;
  readonly #inboxPrefix: string | undefined;
  #prefix = '';
  #sub: NatsSubscription | undefined;
  #next = 0;
  readonly #inFlight = new Map<string, Pending>();
  #queue: Pending[] = [];
  #scheduled = false;
  /** Publishes that may wait (lingerMs) for company: they go with the next flush. */
  #lingering: Pending[] = [];
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(nc: NatsConnection, inboxPrefix?: string) {
    this.#nc = nc;
    this.#inboxPrefix = inboxPrefix;
  }

  /** Acknowledgements still awaited (tests, diagnostics). */
  get inFlight(): number {
    return this.#inFlight.size + this.#queue.length + this.#lingering.length;
  }

  /**
   * Publishes `data` on `subject` and resolves with the stream's acknowledgement. `subject` must be
   * valid (checked by the caller); `msgId` becomes `Nats-Msg-Id` (the stream's de-duplication).
   * `lingerMs` > 0: the publish may wait that long for the next flush (see PublishOptions.lingerMs).
   */
  publish(subject: string, data: Uint8Array, msgId: string | undefined, headers: Headers | undefined, timeoutMs: number, lingerMs = 0): Promise<PubAck> {
    return new Promise<PubAck>((resolve, reject) => {
      const p: Pending = { subject, data, msgId, headers, timeoutMs, token: '', resolve, reject, timer: undefined };
      if (lingerMs > 0) {
        this.#lingering.push(p);
        this.#lingerTimer ??= setTimeout(this.#flush, lingerMs);
        return;
      }
      this.#queue.push(p);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /** Rejects everything still waiting (the connection is closing): the messages may or may not be stored. */
  close(): void {
    const err = new BusError('ERR_STREAM_PUBLISH', 'durable publish: the connection closed before the acknowledgement');
    for (const p of this.#lingering) p.reject(err);
    for (const p of this.#queue) p.reject(err);
    this.#queue = [];
    this.#lingering = [];
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    for (const p of [...this.#inFlight.values()]) this.#fail(p, err);
  }

  /** Sends every queued publish in one go: nats.js flushes its outbound buffer once, after this task. */
  readonly #flush = (): void => {
    this.#scheduled = false;
    // Lingering publishes are older than the queued ones: they go first, so a stream keeps their order.
    const queue = this.#lingering.length > 0 ? [...this.#lingering, ...this.#queue] : this.#queue;
    this.#queue = [];
    if (this.#lingering.length > 0) {
      this.#lingering = [];
      clearTimeout(this.#lingerTimer);
    }
    this.#lingerTimer = undefined;
    try {
      this.#subscription();
    } catch (err) {
      const mapped = mapNatsError(err, 'durable publish: reply subscription');
      for (const p of queue) p.reject(mapped);
      return;
    }
    for (const p of queue) {
      const token = (this.#next++).toString(36);
      p.token = token;
      const h = natsHeaders();
      if (p.headers) for (const k in p.headers) h.set(k, p.headers[k] as string);
      if (p.msgId !== undefined) h.set('Nats-Msg-Id', p.msgId);
      try {
        this.#nc.publish(p.subject, p.data, { reply: this.#prefix + token, headers: h });
      } catch (err) {
        p.reject(mapNatsError(err, `durable publish to ${p.subject}`));
        continue;
      }
      this.#inFlight.set(token, p);
      p.timer = setTimeout(this.#timeout, p.timeoutMs, p);
    }
  };

  readonly #timeout = (p: Pending): void => {
    if (this.#inFlight.get(p.token) !== p) return;
    this.#inFlight.delete(p.token);
    p.reject(new BusError('ERR_BUS_TIMEOUT', `durable publish to ${p.subject}: timed out`));
  };

  #fail(p: Pending, err: BusError): void {
    if (this.#inFlight.get(p.token) !== p) return;
    this.#inFlight.delete(p.token);
    clearTimeout(p.timer);
    p.reject(err);
  }

  /** The wildcard reply subscription, made on first use and again after it ended (it survives reconnects). */
  #subscription(): NatsSubscription {
    if (this.#sub && !this.#sub.isClosed()) return this.#sub;
    const inbox = createInbox(this.#inboxPrefix);
    this.#prefix = `${inbox}.`;
    const sub = this.#nc.subscribe(`${inbox}.*`, { callback: (err, m) => this.#onReply(err, m) });
    this.#sub = sub;
    // Acks of a subscription that ended (drain, close) never come: fail what waits on them now.
    void sub.closed.then(
      () => this.#orphan(sub),
      () => this.#orphan(sub),
    );
    return sub;
  }

  #orphan(sub: NatsSubscription): void {
    if (this.#sub !== sub) return;
    this.#sub = undefined;
    const err = new BusError('ERR_STREAM_PUBLISH', 'durable publish: the connection closed before the acknowledgement');
    for (const p of [...this.#inFlight.values()]) this.#fail(p, err);
  }

  #onReply(err: Error | null, m: NatsMsg): void {
    if (err) {
      // The subscription itself failed (e.g. a permission violation): nothing will be acknowledged on it.
      const mapped = mapNatsError(err, 'durable publish: reply subscription');
      for (const p of [...this.#inFlight.values()]) this.#fail(p, mapped);
      return;
    }
    const p = this.#inFlight.get(m.subject.slice(this.#prefix.length));
    if (!p) return; // timed out already, or a stray reply
    this.#inFlight.delete(p.token);
    clearTimeout(p.timer);
    const status = m.headers?.code ?? 0;
    if (m.data.length === 0 && status !== 0) {
      // 503: nobody answered the subject, no stream captures it.
      p.reject(
        status === 503
          ? new BusError('ERR_STREAM_NO_MATCH', `no stream captures subject "${p.subject}"`)
          : new BusError('ERR_STREAM_PUBLISH', `durable publish to ${p.subject}: status ${status}`),
      );
      return;
    }
    let ack: AckBody;
    try {
      ack = JSON.parse(decoder.decode(m.data)) as AckBody;
    } catch (cause) {
      p.reject(new BusError('ERR_STREAM_PUBLISH', `durable publish to ${p.subject}: unreadable acknowledgement`, { cause }));
      return;
    }
    if (ack.error) {
      const cause = new JetStreamApiError({ code: ack.error.code, err_code: ack.error.err_code ?? 0, description: ack.error.description ?? '' });
      const code = apiErrorCode(cause.code);
      p.reject(
        code === 'ERR_BUS_NO_RESPONDER'
          ? new BusError('ERR_STREAM_NO_MATCH', `no stream captures subject "${p.subject}"`, { cause })
          : mapNatsError(cause, `durable publish to ${p.subject}`),
      );
      return;
    }
    if (typeof ack.stream !== 'string' || ack.stream === '' || typeof ack.seq !== 'number') {
      p.reject(new BusError('ERR_STREAM_PUBLISH', `durable publish to ${p.subject}: invalid acknowledgement`));
      return;
    }
    p.resolve({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate === true });
  }
}
