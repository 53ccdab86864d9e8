import { BusError } from '../errors.js';
import { encodeJson } from '../lib/codec.js';
import { unwrapReply } from '../lib/service-call.js';
import { StatusTracker } from '../lib/status.js';
import type { Bus, BusStatus, Headers, Kv, KvOptions, Msg, RequestOptions, Service, ServiceInfo, SubscribeOptions, Subscription } from '../types.js';
import { InprocRouter } from './core.js';
import { InprocKv } from './kv.js';
import { InprocService } from './service.js';
import { InprocStreams } from './streams.js';

export interface InprocBusOptions {
  /** Directory for durable streams and KV; without it nothing survives a restart (tests only). */
  dataDir?: string | undefined;
  /** fsync every stored message (survives an OS crash, slower). */
  fsync?: boolean;
}

/** The one-process transport: NATS subject semantics in memory, durable parts on disk. */
export class InprocBus implements Bus {
  readonly transport = 'inproc' as const;
  readonly streams: InprocStreams;
  #router = new InprocRouter();
  #services = new Set<InprocService>();
  #kvs = new Map<string, InprocKv>();
  #dataDir: string | undefined;
  #status = new StatusTracker();

  constructor(opts: InprocBusOptions = {}) {
    this.#dataDir = opts.dataDir;
    this.streams = new InprocStreams(opts.dataDir, opts.fsync ?? false);
  }

  publish(subject: string, data: Uint8Array | string, opts: { headers?: Headers } = {}): void {
    this.#router.publish(subject, data, opts.headers ?? {});
  }

  subscribe(subject: string, handler: (msg: Msg) => void | Promise<void>, opts?: SubscribeOptions): Subscription {
    return this.#router.subscribe(subject, handler, opts);
  }

  requestRaw(subject: string, data: Uint8Array | string, opts?: RequestOptions): Promise<Msg> {
    return this.#router.request(subject, data, opts);
  }

  async request<Res, Req>(subject: string, data: Req, opts?: RequestOptions): Promise<Res> {
    const msg = await this.#router.request(subject, encodeJson(data), opts);
    return unwrapReply<Res>(msg);
  }

  async addService(info: ServiceInfo): Promise<Service> {
    if (this.#router.closed) throw new BusError('ERR_BUS_CLOSED', 'the bus is closed');
    const svc = new InprocService(this.#router, info);
    this.#services.add(svc);
    return svc;
  }

  async kv(bucket: string, opts: KvOptions = {}): Promise<Kv> {
    let kv = this.#kvs.get(bucket);
    if (!kv) {
      kv = new InprocKv(bucket, opts, this.#dataDir);
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
    // Deliveries run on the next turn of the event loop (core.ts): after this one, the queued ones have run.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  async drain(): Promise<void> {
    if (this.#status.value === 'closed') return;
    await Promise.all([...this.#services].map((s) => s.stop()));
    await this.#router.drain();
    this.streams.close();
    this.#status.set('closed');
  }

  async close(): Promise<void> {
    await this.drain();
  }
}
