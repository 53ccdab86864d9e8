import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BusError } from '../errors.js';
import { decodeJson, toBytes } from '../lib/codec.js';
import { createDir, privateDir, tightenFile, writePrivateAtomic } from '../lib/private-fs.js';
import { fillOf, notDrainedMessage, retryWhileDraining } from '../lib/retention.js';
import { checkSubject, subjectMatches, subjectsCollide } from '../lib/subject.js';
import type { Consumer, ConsumerConfig, EnsureOptions, PubAck, PublishOptions, StreamConfig, StreamFill, StreamInfo, StreamMsg, Streams } from '../types.js';
import { InprocConsumer } from './consumer.js';
import { type StoredMsg, StreamFile } from './stream-store.js';

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Compact the message file once this many removals (and at least as many as live messages) piled up. */
const COMPACT_AFTER = 1024;

class InprocStream {
  config: StreamConfig;
  readonly file: StreamFile;
  #msgs = new Map<number, StoredMsg>();
  #last = 0;
  #bytes = 0;
  #removedSinceCompaction = 0;
  #dedup = new Map<string, { seq: number; ts: number }>();
  consumers = new Map<string, InprocConsumer>();

  constructor(config: StreamConfig, root: string | undefined, fsync: boolean) {
    this.config = config;
    this.file = new StreamFile(root, config.name, fsync);
    const loaded = this.file.load();
    const window = config.duplicateWindowMs ?? 120_000;
    const now = Date.now();
    this.#last = loaded.lastSeq;
    for (const m of loaded.msgs) {
      this.#msgs.set(m.seq, m);
      this.#bytes += m.data.length;
      if (m.msgId !== undefined && now - m.ts < window) this.#dedup.set(m.msgId, { seq: m.seq, ts: m.ts });
    }
    this.file.writeConfig(config);
    // Durable consumers live with the stream (as on a JetStream server): a restart brings them back.
    for (const saved of this.file.savedConsumers()) {
      const cfg = saved as unknown as ConsumerConfig & { startSeq: number };
      this.consumers.set(cfg.durable, new InprocConsumer(this.source(), cfg, cfg.startSeq));
    }
  }

  get name(): string {
    return this.config.name;
  }

  get retention(): NonNullable<StreamConfig['retention']> {
    return this.config.retention ?? 'limits';
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
    if (c.maxMsgSize !== undefined && c.maxMsgSize >= 0 && data.length > c.maxMsgSize) {
      throw new BusError('ERR_STREAM_FULL', `message of ${data.length} bytes exceeds the stream's maximum message size`);
    }
    if (c.maxMsgs !== undefined && c.maxMsgs >= 0 && this.#msgs.size + 1 > c.maxMsgs) {
      throw new BusError('ERR_STREAM_FULL', `stream ${c.name} is full (maximum messages reached)`);
    }
    if (c.maxBytes !== undefined && c.maxBytes >= 0 && this.#bytes + data.length > c.maxBytes) {
      throw new BusError('ERR_STREAM_FULL', `stream ${c.name} is full (maximum bytes reached)`);
    }
    const m: StoredMsg = { seq: this.#last + 1, ts: now, subject, msgId: opts.msgId, headers: { ...(opts.headers ?? {}) }, data };
    this.file.append(m);
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

  /** A consumer acked `seq`: a work queue forgets it (its one consumer is done with it). */
  acked(seq: number): void {
    if (this.retention !== 'workqueue') return;
    const m = this.#msgs.get(seq);
    if (!m) return;
    this.#msgs.delete(seq);
    this.#bytes -= m.data.length;
    this.file.remove(seq);
    this.#removedSinceCompaction++;
    if (this.#removedSinceCompaction >= COMPACT_AFTER && this.#removedSinceCompaction >= this.#msgs.size) this.compact();
  }

  compact(): void {
    this.file.compact(
      [...this.#msgs.values()].sort((a, b) => a.seq - b.seq),
      this.#last,
    );
    this.#removedSinceCompaction = 0;
  }

  firstSeq(): number {
    let first = Number.POSITIVE_INFINITY;
    for (const seq of this.#msgs.keys()) {
      first = seq;
      break; // Map keeps insertion order, which is sequence order
    }
    return Number.isFinite(first) ? first : this.#last + 1;
  }

  info(): StreamInfo {
    return { name: this.name, retention: this.retention, messages: this.#msgs.size, bytes: this.#bytes, firstSeq: this.firstSeq(), lastSeq: this.#last };
  }

  /** What still has to be processed: consumers with messages pending or unacked, and whether one sees every subject. */
  async backlog(): Promise<{ covered: boolean; pending: Array<{ consumer: string; pending: number; ackPending: number }> }> {
    const pending: Array<{ consumer: string; pending: number; ackPending: number }> = [];
    let covered = false;
    for (const c of this.consumers.values()) {
      const p = await c.pending();
      if (c.filterSubject === undefined) covered = true;
      if (p.pending > 0 || p.ackPending > 0) pending.push({ consumer: c.name, ...p });
    }
    return { covered, pending };
  }

  /** Recreated with another retention: messages and consumers go, sequence numbers continue. */
  recreate(config: StreamConfig): void {
    for (const c of this.consumers.values()) c.close();
    this.consumers.clear();
    this.file.dropConsumers();
    this.#msgs.clear();
    this.#bytes = 0;
    this.#dedup.clear();
    this.config = config;
    this.compact();
    this.file.writeConfig(config);
  }

  source(): ConstructorParameters<typeof InprocConsumer>[0] {
    return {
      name: this.name,
      dir: this.file.dir,
      lastSeq: () => this.#last,
      firstSeq: () => this.firstSeq(),
      message: (seq) => this.#msgs.get(seq),
      acked: (seq) => this.acked(seq),
    };
  }

  close(): void {
    for (const c of this.consumers.values()) c.close();
    this.file.close();
  }
}

/** Durable streams in memory, persisted as owner-only files under `dataDir` so a restart loses nothing. */
export class InprocStreams implements Streams {
  #dir: string | undefined;
  #fsync: boolean;
  #streams = new Map<string, InprocStream>();
  #closed = false;

  constructor(dataDir: string | undefined, fsync = false) {
    this.#dir = dataDir;
    this.#fsync = fsync;
    if (dataDir) {
      createDir(dataDir);
      const root = join(dataDir, 'streams');
      privateDir(root);
      // Streams created by an earlier run come back before anyone publishes, so routing is unchanged.
      for (const name of readdirSync(root)) {
        const cfgPath = join(root, name, 'config.json');
        if (existsSync(cfgPath)) this.#open(JSON.parse(readFileSync(cfgPath, 'utf8')) as StreamConfig);
      }
    }
  }

  async ensure(config: StreamConfig, opts: EnsureOptions = {}): Promise<StreamInfo> {
    this.#assertOpen();
    if (!NAME_RE.test(config.name)) throw new BusError('ERR_BUS_BAD_SUBJECT', `invalid stream name "${config.name}"`);
    for (const s of config.subjects) checkSubject(s, true);
    const existing = this.#streams.get(config.name);
    if (!existing) return this.#open(config).info();
    const want = config.retention ?? 'limits';
    if (existing.retention === want) {
      existing.config = config;
      existing.file.writeConfig(config);
      return existing.info();
    }
    if (opts.retentionMismatch === 'keep') {
      // A consumer draining the old stream: keep its retention, take every other setting.
      existing.config = { ...config, retention: existing.retention };
      existing.file.writeConfig(existing.config);
      return existing.info();
    }
    return retryWhileDraining(async () => {
      const info = existing.info();
      const { covered, pending } = await existing.backlog();
      if (info.messages > 0 && !(covered && pending.length === 0)) {
        throw new BusError('ERR_STREAM_RETENTION', notDrainedMessage(config.name, existing.retention, want, info.messages, pending, covered));
      }
      existing.recreate(config);
      return existing.info();
    }, opts.drainWaitMs);
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
    if (s.retention === 'workqueue') checkWorkQueueConsumer(s, config);
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

  async fill(stream: string): Promise<StreamFill> {
    const s = this.#get(stream);
    return fillOf(s.info(), s.config);
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
    const startSeq = config.deliverPolicy === 'new' ? s.info().lastSeq + 1 : 1;
    if (!s.file.persistent) return startSeq;
    const path = join(s.file.dir, 'consumers', `${config.durable}.json`);
    tightenFile(path);
    if (existsSync(path)) return (JSON.parse(readFileSync(path, 'utf8')) as { startSeq: number }).startSeq;
    privateDir(join(s.file.dir, 'consumers'));
    writePrivateAtomic(path, JSON.stringify({ ...config, startSeq }));
    return startSeq;
  }
}

/** JetStream's rules for work-queue consumers: every message goes to exactly one consumer, from the first one on. */
function checkWorkQueueConsumer(s: InprocStream, config: ConsumerConfig): void {
  if (config.deliverPolicy === 'new') {
    throw new BusError('ERR_CONSUMER_CONFLICT', `consumer ${config.durable}: a work-queue stream (${s.name}) delivers from its first message`);
  }
  const mine = config.filterSubject ?? '>';
  for (const other of s.consumers.values()) {
    if (other.name === config.durable) continue;
    if (subjectsCollide(mine, other.filterSubject ?? '>')) {
      throw new BusError(
        'ERR_CONSUMER_CONFLICT',
        `consumer ${config.durable}: work-queue stream ${s.name} already has consumer ${other.name} for these subjects`,
      );
    }
  }
}
