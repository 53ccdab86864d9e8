import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  RetentionPolicy,
  type StreamConfig as NatsStreamConfig,
  type StreamInfo as NatsStreamInfo,
  StorageType,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { BusError } from '../errors.js';
import { decodeJson, toBytes } from '../lib/codec.js';
import { checkSubject } from '../lib/subject.js';
import { fillOf, notDrainedMessage, retryWhileDraining } from '../lib/retention.js';
import type {
  BusStatus,
  Consumer,
  ConsumerConfig,
  EnsureOptions,
  FetchOptions,
  Headers,
  PubAck,
  PublishOptions,
  ReaderOptions,
  StreamConfig,
  StreamFill,
  StreamInfo,
  StreamMsg,
  Streams,
} from '../types.js';
import { JS_API, jsApiCode, mapNatsError } from './errors-map.js';
import { ContinuousReader } from './continuous-reader.js';
import { JsPublisher } from './js-publisher.js';

const ms = (v: number): number => v * 1_000_000;

function hdrs(h: JsMsg['headers']): Headers {
  const out: Headers = {};
  if (h) for (const [k, v] of h) out[k] = v[0] ?? '';
  return out;
}

/**
 * A delivered JetStream message. What the consume loops read of every message (subject, data, the
 * ack calls) is direct; seq, headers, delivery count, timestamp and msg id are worked out when first
 * read (they parse the reply subject or the header block), and the methods live on the prototype
 * rather than as closures per message.
 */
class NatsStreamMsg implements StreamMsg {
  readonly #m: JsMsg;
  #headers: Headers | undefined;
  readonly subject: string;
  readonly data: Uint8Array;

  constructor(m: JsMsg) {
    this.#m = m;
    this.subject = m.subject;
    this.data = m.data;
  }

  // From the reply subject, parsed on first read (a loop that never logs it never parses it).
  get seq(): number {
    return this.#m.seq;
  }

  get headers(): Headers {
    this.#headers ??= hdrs(this.#m.headers);
    return this.#headers;
  }

  get msgId(): string | undefined {
    return this.#m.headers?.get('Nats-Msg-Id') || undefined;
  }

  get deliveryCount(): number {
    return this.#m.info.deliveryCount;
  }

  get timestamp(): number {
    return Number(BigInt(this.#m.info.timestampNanos) / 1_000_000n);
  }

  json<T>(): T {
    return decodeJson<T>(this.#m.data);
  }

  // ackAck waits for the server's confirmation, so "acked" means the server has it.
  async ack(): Promise<void> {
    try {
      await this.#m.ackAck();
    } catch (err) {
      throw mapNatsError(err, 'ack');
    }
  }

  // A plain publish of +ACK to the reply subject (no request): the consume loops that republish under de-dup ids use it.
  ackNoWait(): void {
    this.#m.ack();
  }

  nak(delayMs?: number): void {
    this.#m.nak(delayMs);
  }

  working(): void {
    this.#m.working();
  }

  term(): void {
    this.#m.term();
  }
}

function wrap(m: JsMsg): StreamMsg {
  return new NatsStreamMsg(m);
}

/** JetStream streams and durable pull consumers, created idempotently (file storage, DiscardNew, limits or work-queue retention). */
export class NatsStreams implements Streams {
  #js: JetStreamClient;
  #nc: NatsConnection;
  #jsmP: Promise<JetStreamManager> | undefined;
  #status: () => BusStatus;

  #publisher: JsPublisher;

  /** `inboxPrefix`: the connection's reply prefix (per-service permissions), for the publishes' acknowledgements. */
  constructor(nc: NatsConnection, status: () => BusStatus, inboxPrefix?: string) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#status = status;
    this.#publisher = new JsPublisher(nc, inboxPrefix);
  }

  /** The manager is made on first use and made again after a failure (e.g. JetStream not enabled yet). */
  #jsm(): Promise<JetStreamManager> {
    if (!this.#jsmP) {
      const p = jetstreamManager(this.#nc);
      this.#jsmP = p;
      p.catch(() => {
        if (this.#jsmP === p) this.#jsmP = undefined;
      });
    }
    return this.#jsmP;
  }

  async ensure(config: StreamConfig, opts: EnsureOptions = {}): Promise<StreamInfo> {
    for (const s of config.subjects) checkSubject(s, true);
    const jsm = await this.#jsm();
    const want = config.retention ?? 'limits';
    const cfg: Partial<NatsStreamConfig> & { name: string } = {
      name: config.name,
      subjects: config.subjects,
      storage: StorageType.File,
      retention: want === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
      // A full audit stream must refuse new events (publisher fails closed), never drop old ones silently.
      discard: DiscardPolicy.New,
      max_msgs: config.maxMsgs ?? -1,
      max_bytes: config.maxBytes ?? -1,
      max_msg_size: config.maxMsgSize ?? -1,
      max_age: ms(config.maxAgeMs ?? 0),
      duplicate_window: ms(config.duplicateWindowMs ?? 120_000),
      // Deny only the delete/purge API: a work queue still removes what its consumer acked (nats-server checks
      // deny_delete in the STREAM.MSG.DELETE handler, not on the ack path).
      deny_delete: config.denyDelete ?? false,
      deny_purge: config.denyPurge ?? false,
      num_replicas: config.replicas ?? 1,
    };
    try {
      let current: NatsStreamInfo;
      try {
        current = await jsm.streams.info(config.name);
      } catch (err) {
        if (jsApiCode(err) !== JS_API.STREAM_NOT_FOUND) throw err;
        return toInfo(await jsm.streams.add(cfg));
      }
      const have = retentionOf(current.config.retention);
      if (have === want) return toInfo(await jsm.streams.update(config.name, cfg));
      if (opts.retentionMismatch === 'keep') {
        // A consumer draining the old stream: leave its retention (and a seal from a migration in progress) alone.
        if (current.config.sealed) return toInfo(current);
        const keep: Partial<NatsStreamConfig> = { ...cfg, retention: current.config.retention };
        return toInfo(await jsm.streams.update(config.name, keep));
      }
      return await retryWhileDraining(async () => {
        const now = await jsm.streams.info(config.name);
        // Migrated by another instance meanwhile: an ordinary update.
        if (retentionOf(now.config.retention) === want) return toInfo(await jsm.streams.update(config.name, cfg));
        return this.#migrate(jsm, now, cfg, want);
      }, opts.drainWaitMs);
    } catch (err) {
      throw mapNatsError(err, `ensure stream ${config.name}`);
    }
  }

  /** What the consumers of a stream still have to process, and whether one of them reads every subject. */
  async #backlog(
    jsm: JetStreamManager,
    stream: string,
  ): Promise<{ covered: boolean; pending: Array<{ consumer: string; pending: number; ackPending: number }> }> {
    const pending: Array<{ consumer: string; pending: number; ackPending: number }> = [];
    let covered = false;
    for (const c of await jsm.consumers.list(stream).next()) {
      if (!c.config.filter_subject && !(c.config.filter_subjects?.length ?? 0)) covered = true;
      if (c.num_pending > 0 || c.num_ack_pending > 0) pending.push({ consumer: c.name, pending: c.num_pending, ackPending: c.num_ack_pending });
    }
    return { covered, pending };
  }

  /**
   * JetStream refuses to change a retention to or from work-queue in place. A drained stream (nothing any
   * consumer still has to process) is sealed, checked again (a publish may have landed meanwhile), deleted and
   * created with the new retention, its sequence numbers continued. Otherwise ERR_STREAM_RETENTION says what is pending.
   */
  async #migrate(
    jsm: JetStreamManager,
    current: NatsStreamInfo,
    cfg: Partial<NatsStreamConfig> & { name: string },
    want: RetentionPolicyName,
  ): Promise<StreamInfo> {
    const name = cfg.name;
    const have = retentionOf(current.config.retention);
    const drained = async (info: NatsStreamInfo): Promise<void> => {
      const { covered, pending } = await this.#backlog(jsm, name);
      if (info.state.messages === 0 || (covered && pending.length === 0)) return;
      const sealed = info.config.sealed ? ' It is sealed for the migration: publishers are refused until it is drained.' : '';
      throw new BusError('ERR_STREAM_RETENTION', `${notDrainedMessage(name, have, want, info.state.messages, pending, covered)}.${sealed}`);
    };
    await drained(current);
    // Sealed, nobody can add a message between the last check and the delete.
    const seal: Partial<NatsStreamConfig> = { sealed: true };
    const sealed = current.config.sealed ? current : await jsm.streams.update(name, seal);
    await drained(sealed);
    // Another instance may have migrated it between our checks: never delete a stream that already has the new retention.
    const again = await jsm.streams.info(name);
    if (retentionOf(again.config.retention) === want) return toInfo(again);
    await jsm.streams.delete(name);
    try {
      return toInfo(await jsm.streams.add({ ...cfg, first_seq: again.state.last_seq + 1 }));
    } catch (err) {
      // Another instance recreated it first.
      if (jsApiCode(err) === JS_API.STREAM_NAME_IN_USE) return toInfo(await jsm.streams.info(name));
      throw err;
    }
  }

  async publish(subject: string, data: Uint8Array | string, opts: PublishOptions = {}): Promise<PubAck> {
    checkSubject(subject);
    // While disconnected nats.js would buffer the publish and wait: fail fast instead, the caller fails closed.
    if (this.#status() !== 'connected') throw new BusError('ERR_BUS_UNAVAILABLE', 'durable publish: NATS is unavailable');
    // Pipelined (js-publisher.ts): publishes in flight together share a socket write and one reply subscription.
    return this.#publisher.publish(subject, toBytes(data), opts.msgId, opts.headers, opts.timeoutMs ?? 5000, opts.lingerMs ?? 0);
  }

  async consumer(stream: string, config: ConsumerConfig): Promise<Consumer> {
    const jsm = await this.#jsm();
    const cfg = {
      durable_name: config.durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: ms(config.ackWaitMs ?? 30_000),
      max_deliver: config.maxDeliver ?? -1,
      max_ack_pending: config.maxAckPending ?? 1000,
      ...(config.filterSubject ? { filter_subject: config.filterSubject } : {}),
    };
    try {
      try {
        await jsm.consumers.info(stream, config.durable);
        await jsm.consumers.update(stream, config.durable, {
          ack_wait: cfg.ack_wait,
          max_deliver: cfg.max_deliver,
          max_ack_pending: cfg.max_ack_pending,
        });
      } catch (err) {
        if (jsApiCode(err) !== JS_API.CONSUMER_NOT_FOUND) throw err;
        await jsm.consumers.add(stream, {
          ...cfg,
          deliver_policy: config.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
        });
      }
      const c = await this.#js.consumers.get(stream, config.durable);
      return {
        stream,
        name: config.durable,
        fetch: async (o: FetchOptions) => {
          try {
            // A pull request waits until its batch is full; ask only for what is there now (at least one),
            // so fetch returns as soon as messages are available, like the in-process transport.
            const info = await c.info();
            const max = Math.max(1, Math.min(o.batch, info.num_pending));
            const iter = await c.fetch({ max_messages: max, expires: Math.max(1000, o.expiresMs ?? 1000) });
            const out: StreamMsg[] = [];
            for await (const m of iter) out.push(wrap(m));
            return out;
          } catch (err) {
            throw mapNatsError(err, `fetch from ${stream}/${config.durable}`);
          }
        },
        reader: (o: ReaderOptions) => new ContinuousReader(c, o, wrap, `${stream}/${config.durable}`),
        pending: async () => {
          const i = await c.info();
          return { pending: i.num_pending, ackPending: i.num_ack_pending };
        },
      };
    } catch (err) {
      throw mapNatsError(err, `consumer ${stream}/${config.durable}`);
    }
  }

  async info(stream: string): Promise<StreamInfo> {
    try {
      return toInfo(await (await this.#jsm()).streams.info(stream));
    } catch (err) {
      throw mapNatsError(err, `stream info ${stream}`);
    }
  }

  async fill(stream: string): Promise<StreamFill> {
    try {
      const i = await (await this.#jsm()).streams.info(stream);
      return fillOf(toInfo(i), { maxMsgs: i.config.max_msgs, maxBytes: i.config.max_bytes });
    } catch (err) {
      throw mapNatsError(err, `stream info ${stream}`);
    }
  }

  async get(stream: string, seq: number): Promise<StreamMsg | null> {
    try {
      const m = await (await this.#jsm()).streams.getMessage(stream, { seq });
      if (!m) return null;
      const headers: Headers = {};
      if (m.header) for (const [k, v] of m.header) headers[k] = v[0] ?? '';
      return {
        subject: m.subject,
        data: m.data,
        headers,
        seq: m.seq,
        msgId: headers['Nats-Msg-Id'],
        deliveryCount: 0,
        timestamp: m.time.getTime(),
        json: <T>() => decodeJson<T>(m.data),
        ack: async () => {},
        nak: () => {},
        working: () => {},
        term: () => {},
      };
    } catch (err) {
      if (jsApiCode(err) === JS_API.NO_MESSAGE_FOUND) return null;
      throw mapNatsError(err, `get ${stream}#${seq}`);
    }
  }
}

type RetentionPolicyName = StreamInfo['retention'];

function retentionOf(r: NatsStreamConfig['retention']): RetentionPolicyName {
  return r === RetentionPolicy.Workqueue ? 'workqueue' : r === RetentionPolicy.Interest ? 'interest' : 'limits';
}

function toInfo(i: NatsStreamInfo): StreamInfo {
  return {
    name: i.config.name,
    retention: retentionOf(i.config.retention),
    messages: i.state.messages,
    bytes: i.state.bytes,
    firstSeq: i.state.first_seq,
    lastSeq: i.state.last_seq,
  };
}
