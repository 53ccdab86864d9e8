import { decodeJson } from '../lib/codec.js';
import { subjectMatches } from '../lib/subject.js';
import type { Consumer, ConsumerConfig, FetchOptions, StreamMsg } from '../types.js';
import { AckFile, type StoredMsg } from './stream-store.js';

/** What a consumer needs from its stream. */
export interface ConsumerSource {
  readonly name: string;
  /** The stream's directory ('' when nothing persists). */
  readonly dir: string;
  lastSeq(): number;
  firstSeq(): number;
  message(seq: number): StoredMsg | undefined;
  /** Called once per message this consumer acks (or terms): a work-queue stream removes it. */
  acked(seq: number): void;
}

type NormalizedConfig = Required<Omit<ConsumerConfig, 'filterSubject'>> & { filterSubject: string | undefined };

interface Outstanding {
  deadline: number;
}

/**
 * A durable pull consumer with explicit ack: unacked messages come back after
 * ackWait; acks are logged to disk so a restart resumes where it stopped.
 */
export class InprocConsumer implements Consumer {
  readonly stream: string;
  readonly name: string;
  #src: ConsumerSource;
  #cfg: NormalizedConfig;
  #acked = new Set<number>();
  #floor = 0;
  #next: number;
  #out = new Map<number, Outstanding>();
  #counts = new Map<number, number>();
  #waiters = new Set<() => void>();
  #ackFile: AckFile;

  constructor(src: ConsumerSource, config: ConsumerConfig, startSeq: number) {
    this.#src = src;
    this.stream = src.name;
    this.name = config.durable;
    this.#cfg = InprocConsumer.normalize(config);
    this.#ackFile = new AckFile(src.dir, config.durable);
    const saved = this.#ackFile.load();
    this.#floor = saved.floor;
    for (const seq of saved.acked) if (seq > saved.floor) this.#acked.add(seq);
    this.#next = Math.max(startSeq, this.#floor + 1);
    this.#compact();
  }

  static normalize(c: ConsumerConfig): NormalizedConfig {
    return {
      durable: c.durable,
      filterSubject: c.filterSubject,
      ackWaitMs: c.ackWaitMs ?? 30_000,
      maxDeliver: c.maxDeliver ?? -1,
      maxAckPending: c.maxAckPending ?? 1000,
      deliverPolicy: c.deliverPolicy ?? 'all',
    };
  }

  update(config: ConsumerConfig): void {
    this.#cfg = InprocConsumer.normalize(config);
  }

  /** The subject filter, if any (work queues allow one consumer per subject). */
  get filterSubject(): string | undefined {
    return this.#cfg.filterSubject;
  }

  /** Called by the stream when a message is stored or a message becomes ready again. */
  notify(): void {
    for (const w of this.#waiters) w();
  }

  async fetch(opts: FetchOptions): Promise<StreamMsg[]> {
    const expires = Date.now() + (opts.expiresMs ?? 1000);
    for (;;) {
      const got = this.#take(Math.max(1, opts.batch));
      if (got.length > 0) return got;
      const now = Date.now();
      if (now >= expires) return [];
      let wake = expires;
      for (const o of this.#out.values()) wake = Math.min(wake, o.deadline);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, wake - now));
        this.#waiters.add(done);
      });
    }
  }

  async pending(): Promise<{ pending: number; ackPending: number }> {
    let pending = 0;
    for (let s = this.#next; s <= this.#src.lastSeq(); s++) if (this.#eligible(s)) pending++;
    return { pending, ackPending: this.#out.size };
  }

  close(): void {
    this.#ackFile.close();
    this.notify();
  }

  #eligible(seq: number): boolean {
    if (this.#acked.has(seq) || seq <= this.#floor) return false;
    const m = this.#src.message(seq);
    if (!m) return false;
    return this.#cfg.filterSubject === undefined || subjectMatches(this.#cfg.filterSubject, m.subject);
  }

  #take(batch: number): StreamMsg[] {
    const now = Date.now();
    const out: StreamMsg[] = [];
    for (const [seq, o] of this.#out) {
      if (out.length >= batch) break;
      if (o.deadline > now) continue;
      const count = this.#counts.get(seq) ?? 1;
      if (this.#cfg.maxDeliver > 0 && count >= this.#cfg.maxDeliver) {
        // delivered the maximum number of times: NATS stops redelivering, so do we
        this.#out.delete(seq);
        continue;
      }
      const m = this.#src.message(seq);
      if (!m) {
        this.#out.delete(seq);
        continue;
      }
      out.push(this.#deliver(m, now));
    }
    while (out.length < batch && this.#out.size < this.#cfg.maxAckPending && this.#next <= this.#src.lastSeq()) {
      const seq = this.#next++;
      if (!this.#eligible(seq)) continue;
      out.push(this.#deliver(this.#src.message(seq)!, now));
    }
    return out;
  }

  #deliver(m: StoredMsg, now: number): StreamMsg {
    const count = (this.#counts.get(m.seq) ?? 0) + 1;
    this.#counts.set(m.seq, count);
    this.#out.set(m.seq, { deadline: now + this.#cfg.ackWaitMs });
    const seq = m.seq;
    return {
      subject: m.subject,
      data: m.data,
      headers: m.headers,
      seq,
      msgId: m.msgId,
      deliveryCount: count,
      timestamp: m.ts,
      json: <T>() => decodeJson<T>(m.data),
      ack: async () => this.#ack(seq),
      ackNoWait: () => this.#ack(seq),
      nak: (delayMs = 0) => {
        const o = this.#out.get(seq);
        if (o) o.deadline = Date.now() + delayMs;
        setTimeout(() => this.notify(), delayMs);
      },
      working: () => {
        const o = this.#out.get(seq);
        if (o) o.deadline = Date.now() + this.#cfg.ackWaitMs;
      },
      term: () => {
        this.#out.delete(seq);
        this.#ack(seq);
      },
    };
  }

  #ack(seq: number): void {
    this.#out.delete(seq);
    this.#counts.delete(seq);
    if (this.#acked.has(seq) || seq <= this.#floor) return;
    this.#acked.add(seq);
    this.#ackFile.append(seq);
    this.#compact();
    // The log only needs the floor and the acks above it: rewrite it before it grows with the traffic.
    if (this.#ackFile.appended >= 4096 && this.#ackFile.appended > 2 * this.#acked.size) this.#ackFile.rewrite(this.#floor, this.#acked);
    this.#src.acked(seq);
  }

  #compact(): void {
    const first = this.#src.firstSeq();
    if (this.#floor < first - 1) this.#floor = first - 1;
    while (this.#acked.has(this.#floor + 1)) {
      this.#acked.delete(this.#floor + 1);
      this.#floor++;
    }
    if (this.#next <= this.#floor) this.#next = this.#floor + 1;
  }
}
