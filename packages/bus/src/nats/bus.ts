import { readFileSync } from 'node:fs';
import { type NatsConnection, connect, credsAuthenticator, headers as natsHeaders } from '@nats-io/transport-node';
import { BusError } from '../errors.js';
import { encodeJson, makeMsg, toBytes } from '../lib/codec.js';
import { unwrapReply } from '../lib/service-call.js';
import { StatusTracker } from '../lib/status.js';
import { checkSubject } from '../lib/subject.js';
import type { Bus, BusStatus, Headers, Kv, KvOptions, Msg, RequestOptions, Service, ServiceInfo, SubscribeOptions, Subscription } from '../types.js';
import { mapNatsError } from './errors-map.js';
import { NatsKv } from './kv.js';
import { NatsBusService } from './service.js';
import { NatsStreams } from './streams.js';

/** How a client proves who it is to NATS and keeps its replies private (per-service users, deploy/nats/permissions.md). */
export interface NatsClientAuth {
  /** User and password (the password value, resolved by the caller). */
  user?: string | undefined;
  password?: string | undefined;
  /** A NATS `.creds` file (user JWT + nkey seed), read at connect. */
  credsFile?: string | undefined;
  /** Reply subjects start with this instead of `_INBOX`, so a user may subscribe only to its own replies (`_INBOX_proxy.>`). */
  inboxPrefix?: string | undefined;
  /** TLS to the server: CA to trust, and a client certificate for mutual TLS. Files are read by the transport. */
  tls?: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined } | undefined;
}

export interface NatsBusOptions extends NatsClientAuth {
  servers: string | string[];
  name?: string;
  /** Give up the first connection after this long (default 10000 ms); later outages reconnect forever. */
  connectTimeoutMs?: number;
  /** Replicas of the KV buckets this client creates (default 1; 3 on a 3-node cluster, as `bus.streams.replicas`). */
  replicas?: number;
}

/** The nats.js connect options for `auth` (only the set ones, so defaults stay the library's). */
function authOptions(o: NatsClientAuth): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (o.user !== undefined) out['user'] = o.user;
  if (o.password !== undefined) out['pass'] = o.password;
  if (o.credsFile !== undefined) out['authenticator'] = credsAuthenticator(readFileSync(o.credsFile));
  if (o.inboxPrefix !== undefined) out['inboxPrefix'] = o.inboxPrefix;
  if (o.tls) {
    const tls: Record<string, string> = {};
    for (const k of ['caFile', 'certFile', 'keyFile'] as const) if (o.tls[k]) tls[k] = o.tls[k] as string;
    out['tls'] = tls;
  }
  return out;
}

function toNatsHeaders(h: Headers | undefined): ReturnType<typeof natsHeaders> | undefined {
  if (!h || Object.keys(h).length === 0) return undefined;
  const out = natsHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}

function fromNats(m: { subject: string; data: Uint8Array; headers?: Iterable<[string, string[]]> | undefined; reply?: string }): Msg {
  const h: Headers = {};
  if (m.headers) for (const [k, v] of m.headers) h[k] = v[0] ?? '';
  return makeMsg(m.subject, m.data, h, m.reply || undefined);
}

/** The NATS transport: reconnects forever, drains on shutdown, JetStream for streams and KV. */
export class NatsBus implements Bus {
  readonly transport = 'nats' as const;
  readonly streams: NatsStreams;
  #nc: NatsConnection;
  #status = new StatusTracker();
  #services = new Set<NatsBusService>();
  #kvs = new Map<string, NatsKv>();
  readonly #replicas: number;

  private constructor(nc: NatsConnection, replicas: number, inboxPrefix: string | undefined) {
    this.#nc = nc;
    this.#replicas = replicas;
    this.streams = new NatsStreams(nc, () => this.#status.value, inboxPrefix);
    void this.#watchStatus();
    void nc.closed().then(() => this.#status.set('closed'));
  }

  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    try {
      const nc = await connect({
        ...authOptions(opts),
        servers: opts.servers,
        name: opts.name ?? 'agentgate',
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        timeout: opts.connectTimeoutMs ?? 10_000,
        pingInterval: 5_000,
        // Async stack traces build an Error per request (about 7% of the proxy's CPU); our errors are mapped anyway.
        noAsyncTraces: true,
      });
      return new NatsBus(nc, opts.replicas ?? 1, opts.inboxPrefix);
    } catch (err) {
      throw new BusError('ERR_BUS_UNAVAILABLE', 'cannot connect to NATS', { cause: err });
    }
  }

  publish(subject: string, data: Uint8Array | string, opts: { headers?: Headers } = {}): void {
    checkSubject(subject);
    const headers = toNatsHeaders(opts.headers);
    this.#nc.publish(subject, toBytes(data), headers ? { headers } : undefined);
  }

  subscribe(subject: string, handler: (msg: Msg) => void | Promise<void>, opts: SubscribeOptions = {}): Subscription {
    checkSubject(subject, true);
    const sub = this.#nc.subscribe(subject, {
      ...(opts.queue ? { queue: opts.queue } : {}),
      callback: (err, m) => {
        if (err) return;
        void Promise.resolve()
          .then(() => handler(fromNats(m)))
          .catch(() => {});
      },
    });
    return {
      unsubscribe: async () => {
        if (!sub.isClosed()) await sub.drain();
      },
    };
  }

  async requestRaw(subject: string, data: Uint8Array | string, opts: RequestOptions = {}): Promise<Msg> {
    checkSubject(subject);
    if (this.#status.value === 'closed') throw new BusError('ERR_BUS_CLOSED', 'the bus is closed');
    const headers = toNatsHeaders(opts.headers);
    try {
      const m = await this.#nc.request(subject, toBytes(data), { timeout: opts.timeoutMs ?? 5000, ...(headers ? { headers } : {}) });
      return fromNats(m);
    } catch (err) {
      throw mapNatsError(err, `request to "${subject}"`);
    }
  }

  async request<Res, Req>(subject: string, data: Req, opts?: RequestOptions): Promise<Res> {
    return unwrapReply<Res>(await this.requestRaw(subject, encodeJson(data), opts));
  }

  async addService(info: ServiceInfo): Promise<Service> {
    const svc = await NatsBusService.create(this.#nc, info);
    this.#services.add(svc);
    return svc;
  }

  async kv(bucket: string, opts: KvOptions = {}): Promise<Kv> {
    let kv = this.#kvs.get(bucket);
    if (!kv) {
      kv = await NatsKv.open(this.#nc, bucket, { ...opts, replicas: opts.replicas ?? this.#replicas });
      this.#kvs.set(bucket, kv);
    }
    return kv;
  }

  status(): BusStatus {
    return this.#status.value;
  }

  onStatus(cb: (s: BusStatus) => void): () => void {
    return this.#status.on(cb);
  }

  async flush(): Promise<void> {
    try {
      await this.#nc.flush();
    } catch (err) {
      throw mapNatsError(err, 'flush');
    }
  }

  async drain(): Promise<void> {
    if (this.#nc.isClosed()) return;
    await Promise.all([...this.#services].map((s) => s.stop()));
    if (!this.#nc.isDraining()) await this.#nc.drain();
  }

  async close(): Promise<void> {
    if (!this.#nc.isClosed()) await this.#nc.close();
  }

  async #watchStatus(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type === 'disconnect') this.#status.set('disconnected');
      else if (s.type === 'reconnecting') this.#status.set('reconnecting');
      else if (s.type === 'reconnect') this.#status.set('connected');
    }
  }
}
