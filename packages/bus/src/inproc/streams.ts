import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BusError } from '../errors.js';
import { decodeJson, toBytes } from '../lib/codec.js';
import { checkSubject, subjectMatches } from '../lib/subject.js';
import type { Consumer, ConsumerConfig, PubAck, PublishOptions, StreamConfig, StreamInfo, StreamMsg, Streams } from '../types.js';
import { InprocConsumer } from './consumer.js';
import { type StoredMsg, StreamFile } from './stream-store.js';

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

class InprocStream {
  config: StreamConfig;
  readonly dir: string | undefined;
  #file: StreamFile;
  #msgs = new Map<number, StoredMsg>();
  #last = 0;
  #first = 1;
  #bytes = 0;
  #dedup = new Map<string, { seq: number; ts: number }>();
  consumers = new Map<string, InprocConsumer>();

  constructor(config: StreamConfig, dir: string | undefined, fsync: boolean) {
    this.config = config;
    this.dir = dir;
    this.#file = new StreamFile(dir, config.name, fsync);
    const window = config.duplicateWindowMs ?? 120_000;
    const now = Date.now();
    for (const m of this.#file.load()) {
      this.#msgs.set(m.seq, m);
      this.#last = m.seq;
      this.#bytes += m.data.length;
      if (m.msgId !== undefined && now - m.ts < window) this.#dedup.set(m.msgId, { seq: m.seq, ts: m.ts });
    }
    const firstKey = this.#msgs.keys().next();
    this.#first = firstKey.done ? this.#last + 1 : firstKey.value;
    if (dir) writeFileSync(join(dir, 'streams', config.name, 'config.json'), JSON.stringify(config));
  }

  get name(): string {
    return this.config.name;
  }

  captures(subject: string): boolean {
    return this.config.subjects.some((p) => subjectMatches(p, subject));
  }

  publish(subject: string, data: Uint8Array, opts: PublishOptions): PubAck {
    const c = this.config;
    const now = Date.now();
    const window = c.duplicateWindowMs ?? 120_000;
    for (const [id, d] of this.#dedup) {
      if (now - d.ts < window) break;
      this.#dedup.delete(id);
    }
    if (opts.msgId !== undefined) {
      const seen = this.#dedup.get(opts.msgId);
      if (seen) return { stream: c.name, seq: seen.seq, duplicate: true };
    }
    // DiscardNew: a full stream refuses the message, so the publisher knows (never silently drop old ones).
    if (c.maxMsgSize !== undefined && data.length > c.maxMsgSize) {
      throw new BusError('ERR_STREAM_FULL', `message of ${data.length} bytes exceeds the stream's maximum message size`);
    }
    if (c.maxMsgs !== undefined && c.maxMsgs >= 0 && this.#msgs.size + 1 > c.maxMsgs) {
      throw new BusError('ERR_STREAM_FULL', `stream ${c.name} is full (maximum messages reached)`);
    }
    if (c.maxBytes !== undefined && c.maxBytes >= 0 && this.#bytes + data.length > c.maxBytes) {
      throw new BusError('ERR_STREAM_FULL', `stream ${c.name} is full (maximum bytes reached)`);
    }
    const m: StoredMsg = { seq: this.#last + 1, ts: now, subject, msgId: opts.msgId, headers: { ...(opts.headers ?? {}) }, data };
    this.#file.append(m);
    this.#last = m.seq;
    this.#msgs.set(m.seq, m);
    this.#bytes += data.length;
    if (opts.msgId !== undefined) this.#dedup.set(opts.msgId, { seq: m.seq, ts: now });
    for (const cons of this.consumers.values()) cons.notify();
    return { stream: c.name, seq: m.seq, duplicate: false };
  }

  message(seq: number): StoredMsg | undefined {
    return this.#msgs.get(seq);
  }

  info(): StreamInfo {
    return { name: this.name, messages: this.#msgs.size, bytes: this.#bytes, firstSeq: this.#first, lastSeq: this.#last };
  }

  source(): ConstructorParameters<typeof InprocConsumer>[0] {
    return {
      name: this.name,
      dir: this.dir,
      lastSeq: () => this.#last,
      firstSeq: () => this.#first,
      message: (seq) => this.#msgs.get(seq),
    };
  }

  close(): void {
    for (const c of this.consumers.values()) c.close();
    this.#file.close();
  }
}

/** Durable streams in memory, persisted as append-only files under `dataDir` so a restart loses nothing. */
export class InprocStreams implements Streams {
  #dir: string | undefined;
  #fsync: boolean;
  #streams = new Map<string, InprocStream>();
  #closed = false;

  constructor(dataDir: string | undefined, fsync = false) {
    this.#dir = dataDir;
    this.#fsync = fsync;
    if (dataDir) {
      const root = join(dataDir, 'streams');
      mkdirSync(root, { recursive: true });
      // Streams created by an earlier run come back before anyone publishes, so routing is unchanged.
      for (const name of readdirSync(root)) {
        const cfgPath = join(root, name, 'config.json');
        if (existsSync(cfgPath)) this.#open(JSON.parse(readFileSync(cfgPath, 'utf8')) as StreamConfig);
      }
    }
  }

  async ensure(config: StreamConfig): Promise<StreamInfo> {
    this.#assertOpen();
    if (!NAME_RE.test(config.name)) throw new BusError('ERR_BUS_BAD_SUBJECT', `invalid stream name "${config.name}"`);
    for (const s of config.subjects) checkSubject(s, true);
    const existing = this.#streams.get(config.name);
    if (existing) {
      existing.config = config;
      if (this.#dir) writeFileSync(join(this.#dir, 'streams', config.name, 'config.json'), JSON.stringify(config));
      return existing.info();
    }
    return this.#open(config).info();
  }

  async publish(subject: string, data: Uint8Array | string, opts: PublishOptions = {}): Promise<PubAck> {
    this.#assertOpen();
    checkSubject(subject);
    const stream = [...this.#streams.values()].find((s) => s.captures(subject));
    if (!stream) throw new BusError('ERR_STREAM_NO_MATCH', `no stream captures subject "${subject}"`);
    return stream.publish(subject, toBytes(data), opts);
  }

  async consumer(stream: string, config: ConsumerConfig): Promise<Consumer> {
    this.#assertOpen();
    const s = this.#get(stream);
    const existing = s.consumers.get(config.durable);
    if (existing) {
      existing.update(config);
      return existing;
    }
    const startSeq = this.#consumerStart(s, config);
    const c = new InprocConsumer(s.source(), config, startSeq);
    s.consumers.set(config.durable, c);
    return c;
  }

  async info(stream: string): Promise<StreamInfo> {
    return this.#get(stream).info();
  }

  async get(stream: string, seq: number): Promise<StreamMsg | null> {
    const m = this.#get(stream).message(seq);
    if (!m) return null;
    return {
      subject: m.subject,
      data: m.data,
      headers: m.headers,
      seq: m.seq,
      msgId: m.msgId,
      deliveryCount: 0,
      timestamp: m.ts,
      json: <T>() => decodeJson<T>(m.data),
      ack: async () => {},
      nak: () => {},
      working: () => {},
      term: () => {},
    };
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#streams.values()) s.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new BusError('ERR_BUS_CLOSED', 'the bus is closed');
  }

  #open(config: StreamConfig): InprocStream {
    const s = new InprocStream(config, this.#dir, this.#fsync);
    this.#streams.set(config.name, s);
    return s;
  }

  #get(name: string): InprocStream {
    const s = this.#streams.get(name);
    if (!s) throw new BusError('ERR_STREAM_NOT_FOUND', `stream "${name}" does not exist`);
    return s;
  }

  /** A consumer's start is fixed when it is first created and kept on disk, like a NATS durable. */
  #consumerStart(s: InprocStream, config: ConsumerConfig): number {
    if (!s.dir) return config.deliverPolicy === 'new' ? s.info().lastSeq + 1 : 1;
    const path = join(s.dir, 'streams', s.name, 'consumers', `${config.durable}.json`);
    if (existsSync(path)) return (JSON.parse(readFileSync(path, 'utf8')) as { startSeq: number }).startSeq;
    const startSeq = config.deliverPolicy === 'new' ? s.info().lastSeq + 1 : 1;
    writeFileSync(path, JSON.stringify({ ...config, startSeq }));
    return startSeq;
  }
}
