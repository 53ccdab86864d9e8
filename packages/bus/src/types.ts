/** Headers carried with a message (NATS headers; one value per key here). */
export type Headers = Record<string, string>;

/** A message delivered to a subscriber. */
export interface Msg {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Headers;
  /** Reply subject when the sender expects an answer. */
  readonly reply?: string | undefined;
  json<T = unknown>(): T;
  string(): string;
}

export interface Subscription {
  /** Stops delivery; in-flight handlers finish (drain). */
  unsubscribe(): Promise<void>;
}

export interface RequestOptions {
  /** Deadline for the reply, in ms (default 5000). */
  timeoutMs?: number;
  headers?: Headers;
}

export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  queue?: string;
}

/** Handler of a request/reply endpoint. Its return value is the reply; a thrown error with a `code` crosses the bus as `{code, message}`. */
export type RequestHandler<Req = unknown, Res = unknown> = (req: Req, msg: Msg) => Promise<Res> | Res;

export interface ServiceInfo {
  name: string;
  version: string;
  description?: string;
}

export interface EndpointOptions {
  /** Subject the endpoint answers on, e.g. `identity.verify`. */
  subject: string;
  /** Queue group (default `q-<service name>`; NATS forbids dots in queue names), so replicas share the load. */
  queue?: string;
}

/** A service: a named group of request/reply endpoints (NATS micro-service on NATS, so ping/info/stats are there). */
export interface Service {
  readonly info: ServiceInfo;
  addEndpoint<Req = unknown, Res = unknown>(name: string, handler: RequestHandler<Req, Res>, opts: EndpointOptions): void;
  /** Stops taking requests and waits for handlers in flight. */
  stop(): Promise<void>;
  stats(): ServiceStats;
}

export interface ServiceStats {
  name: string;
  endpoints: Array<{ name: string; subject: string; requests: number; errors: number; inFlight: number }>;
}

/**
 * How long a stream keeps a message.
 * - `limits` (default): until a limit (maxMsgs, maxBytes, maxAgeMs) says otherwise; acks change nothing.
 * - `workqueue`: until a consumer acks it (one consumer per subject; every consumer starts at the first
 *   message). Kept while no consumer exists, so nothing published before the consumer is lost.
 * The limits still apply to what is kept, with DiscardNew.
 */
export type RetentionPolicy = 'limits' | 'workqueue';

/** Configuration of a durable stream. */
export interface StreamConfig {
  name: string;
  /** Subjects captured by the stream (wildcards allowed). */
  subjects: string[];
  /** Default `limits`. A stream's retention cannot be changed in place: see `EnsureOptions.retentionMismatch`. */
  retention?: RetentionPolicy;
  /** Refuse new messages beyond these limits (DiscardNew). */
  maxMsgs?: number;
  maxBytes?: number;
  maxMsgSize?: number;
  maxAgeMs?: number;
  /** Window in which a repeated message id is stored once (default 120000). */
  duplicateWindowMs?: number;
  /** Deny delete / purge (audit streams). */
  denyDelete?: boolean;
  denyPurge?: boolean;
  /** NATS only: replicas (default 1). */
  replicas?: number;
}

export interface PublishOptions {
  /** Message id used for de-duplication (`Nats-Msg-Id`). */
  msgId?: string;
  headers?: Headers;
  /** Deadline for the store acknowledgement (default 5000 ms). */
  timeoutMs?: number;
  /**
   * NATS: the message may wait up to this long to share a socket write with the next publishes (for
   * publishes nobody waits on, e.g. the proxy's outcome events); it goes with the next publish that does
   * not wait, or when the time is up. Default 0: written at the end of the current event-loop turn.
   */
  lingerMs?: number;
}

export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

export interface ConsumerConfig {
  /** Durable name: the consumer's position survives restarts. */
  durable: string;
  filterSubject?: string;
  /** Redelivery after this long without an ack (default 30000). */
  ackWaitMs?: number;
  /** -1 = forever (default). */
  maxDeliver?: number;
  maxAckPending?: number;
  /** Where a new consumer starts: all (default) or only new messages. */
  deliverPolicy?: 'all' | 'new';
}

/** A message from a durable stream; must be acked explicitly. */
export interface StreamMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Headers;
  readonly seq: number;
  readonly msgId: string | undefined;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  /** Time the stream stored it (ms since epoch). */
  readonly timestamp: number;
  json<T = unknown>(): T;
  ack(): Promise<void>;
  /**
   * Acks without waiting for the server's confirmation (on NATS a plain publish instead of a request:
   * no reply, no timer, no per-message objects; acks sent in the same tick share one socket write).
   * An ack lost on the way (connection cut) means the message is redelivered after ackWait, so use it
   * only where processing a message twice is harmless (e.g. republished under a `Nats-Msg-Id`).
   * Optional: absent on messages that cannot be acked this way; fall back to `ack()`.
   */
  ackNoWait?(): void;
  /** Negative ack: redeliver (after delayMs). */
  nak(delayMs?: number): void;
  /** Resets the ack timer while still working. */
  working(): void;
  /** Never redeliver. */
  term(): void;
}

export interface FetchOptions {
  /** Max messages in this batch. */
  batch: number;
  /** How long to wait for at least one message (default 1000 ms). */
  expiresMs?: number;
}

/** How a {@link BatchReader} hands out batches. */
export interface ReaderOptions {
  /** Most messages per batch. */
  batch: number;
  /** How long `next()` waits for a first message before it returns an empty batch (default 1000 ms). */
  expiresMs?: number;
  /**
   * Once a first message is there and the batch is not full, wait up to this long for more (default 0).
   * At a moderate rate messages arrive one by one: a few ms of wait turns many batches of one into one
   * batch of several (one socket write for their publishes, one for their acks) at that much latency.
   */
  lingerMs?: number;
}

/** Batches of a durable consumer, read ahead of the caller (see `openReader`). */
export interface BatchReader {
  /** The next batch, in stream order (empty after `expiresMs` without messages). Rejects with a BusError when reading failed; the next call reads afresh. */
  next(): Promise<StreamMsg[]>;
  /** Stops reading; what was read ahead and not handed out is handed back (nak, for immediate redelivery). Resolves with how many. */
  close(): Promise<number>;
}

export interface Consumer {
  readonly stream: string;
  readonly name: string;
  fetch(opts: FetchOptions): Promise<StreamMsg[]>;
  /**
   * A reader with a standing pull (NATS: one continuous pull request refilled as messages arrive, no
   * round trip per batch). Optional: `openReader` falls back to fetch batches read one ahead.
   */
  reader?(opts: ReaderOptions): BatchReader;
  /** Number of messages not yet delivered + delivered but unacked. */
  pending(): Promise<{ pending: number; ackPending: number }>;
}

export interface StreamInfo {
  name: string;
  /** `interest` only for a stream some other tool created on the NATS server. */
  retention: RetentionPolicy | 'interest';
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
}

/** How full a stream is against its DiscardNew limits: what to alert on before publishers are refused. */
export interface StreamFill {
  stream: string;
  retention: StreamInfo['retention'];
  messages: number;
  bytes: number;
  /** null: no limit. */
  maxMsgs: number | null;
  maxBytes: number | null;
  /** The fuller of messages/maxMsgs and bytes/maxBytes, 0 to 1 (0 when unlimited). At 1 publishes are refused. */
  ratio: number;
}

/** What `ensure` does with an existing stream whose retention differs from the one asked for. */
export interface EnsureOptions {
  /**
   * JetStream cannot change a stream's retention in place.
   * `fail` (default; for the stream's publisher): a stream that holds nothing its consumers still have to
   * process is recreated with the new retention, its sequence numbers continued (on NATS it is sealed
   * first, so no publish can land between the last check and the delete); otherwise ERR_STREAM_RETENTION
   * names what is pending. `keep` (for a consumer): the stream keeps its retention and takes every other
   * setting (the returned info says which retention it has), so the consumer can drain it.
   */
  retentionMismatch?: 'fail' | 'keep';
  /** With `fail`: how long to wait for the consumers to drain the stream before failing (default 0: fail at once). */
  drainWaitMs?: number;
}

export interface Streams {
  /** Creates the stream or updates it to this config (idempotent); a retention change is handled as `opts` says. */
  ensure(config: StreamConfig, opts?: EnsureOptions): Promise<StreamInfo>;
  /** Resolves only when the stream has stored the message. */
  publish(subject: string, data: Uint8Array | string, opts?: PublishOptions): Promise<PubAck>;
  /** Creates or binds a durable pull consumer (idempotent). */
  consumer(stream: string, config: ConsumerConfig): Promise<Consumer>;
  info(stream: string): Promise<StreamInfo>;
  /** How full the stream is against its limits (for readiness details and alerts). */
  fill(stream: string): Promise<StreamFill>;
  /** Reads one stored message by sequence (for audits/replays); null when absent. */
  get(stream: string, seq: number): Promise<StreamMsg | null>;
}

export interface KvEntry {
  key: string;
  value: Uint8Array;
  revision: number;
  operation: 'PUT' | 'DEL';
  json<T = unknown>(): T;
  string(): string;
}

export interface KvOptions {
  history?: number;
  ttlMs?: number;
  /** NATS only: replicas of a bucket created now (default: the bus's `replicas`, else 1); an existing bucket keeps its own. */
  replicas?: number;
}

export interface KvWatch {
  stop(): Promise<void>;
}

export interface Kv {
  readonly bucket: string;
  get(key: string): Promise<KvEntry | null>;
  /** Unconditional write; returns the new revision. */
  put(key: string, value: Uint8Array | string): Promise<number>;
  /** Writes only if the key does not exist (ERR_KV_EXISTS otherwise). */
  create(key: string, value: Uint8Array | string): Promise<number>;
  /** Compare-and-set: writes only if the key's last revision is `revision` (ERR_KV_WRONG_REVISION otherwise). */
  update(key: string, value: Uint8Array | string, revision: number): Promise<number>;
  delete(key: string): Promise<void>;
  keys(filter?: string): Promise<string[]>;
  /** Calls back for every change of matching keys (`>`/`*` wildcards), starting after the current values unless includeCurrent. */
  watch(filter: string, cb: (entry: KvEntry) => void, opts?: { includeCurrent?: boolean }): Promise<KvWatch>;
}

export type BusStatus = 'connected' | 'disconnected' | 'reconnecting' | 'closed';

/** The one interface the services use. */
export interface Bus {
  readonly transport: 'nats' | 'inproc';
  publish(subject: string, data: Uint8Array | string, opts?: { headers?: Headers }): void;
  subscribe(subject: string, handler: (msg: Msg) => void | Promise<void>, opts?: SubscribeOptions): Subscription;
  /** Raw request: bytes in, message out. */
  requestRaw(subject: string, data: Uint8Array | string, opts?: RequestOptions): Promise<Msg>;
  /** JSON request to a service endpoint; the reply's `{error}` becomes a RemoteError with the remote's code. */
  request<Res = unknown, Req = unknown>(subject: string, data: Req, opts?: RequestOptions): Promise<Res>;
  addService(info: ServiceInfo): Promise<Service>;
  readonly streams: Streams;
  kv(bucket: string, opts?: KvOptions): Promise<Kv>;
  status(): BusStatus;
  onStatus(cb: (status: BusStatus) => void): () => void;
  /**
   * Resolves once everything this client sent before (subscriptions, publishes) has been processed:
   * a round trip to the server on NATS; in process, once the deliveries already queued have run.
   * Tests use it instead of a sleep before asserting what a subscriber saw.
   */
  flush(): Promise<void>;
  /** Drains subscriptions and services (in-flight handlers finish), flushes, closes. */
  drain(): Promise<void>;
  close(): Promise<void>;
}
