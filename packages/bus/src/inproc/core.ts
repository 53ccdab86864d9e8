import { randomUUID } from 'node:crypto';
import { BusError } from '../errors.js';
import { makeMsg, toBytes } from '../lib/codec.js';
import { checkSubject, subjectMatches } from '../lib/subject.js';
import { InFlight } from '../lib/tracker.js';
import type { Headers, Msg, RequestOptions, SubscribeOptions, Subscription } from '../types.js';

interface Sub {
  pattern: string;
  queue: string | undefined;
  handler: (msg: Msg) => void | Promise<void>;
  active: boolean;
  inflight: InFlight;
}

/** In-memory subject router with NATS semantics: wildcards, queue groups, no-responder detection. */
export class InprocRouter {
  #subs = new Set<Sub>();
  #rr = new Map<string, number>();
  #closed = false;
  #queued = 0;
  #idleWaiters: Array<() => void> = [];

  get closed(): boolean {
    return this.#closed;
  }

  subscribe(subject: string, handler: Sub['handler'], opts: SubscribeOptions = {}): Subscription {
    this.#assertOpen();
    checkSubject(subject, true);
    const sub: Sub = { pattern: subject, queue: opts.queue, handler, active: true, inflight: new InFlight() };
    this.#subs.add(sub);
    return {
      unsubscribe: async () => {
        sub.active = false;
        this.#subs.delete(sub);
        await sub.inflight.idle();
      },
    };
  }

  /** Delivers asynchronously; returns how many subscribers will receive it. */
  publish(subject: string, data: Uint8Array | string, headers: Headers = {}, reply?: string): number {
    this.#assertOpen();
    checkSubject(subject);
    const bytes = toBytes(data);
    const targets: Sub[] = [];
    const groups = new Map<string, Sub[]>();
    for (const s of this.#subs) {
      if (!s.active || !subjectMatches(s.pattern, subject)) continue;
      if (s.queue === undefined) targets.push(s);
      else {
        const key = `${s.pattern}\u0000${s.queue}`;
        const g = groups.get(key) ?? [];
        g.push(s);
        groups.set(key, g);
      }
    }
    for (const [key, members] of groups) {
      const n = (this.#rr.get(key) ?? 0) + 1;
      this.#rr.set(key, n);
      targets.push(members[n % members.length]!);
    }
    const msg = makeMsg(subject, bytes, { ...headers }, reply);
    for (const t of targets) {
      this.#queued++;
      setImmediate(() => {
        this.#queued--;
        if (t.active) {
          void t.inflight
            .run(async () => {
              await t.handler(msg);
            })
            .catch(() => {
              // a subscriber's failure is its own; the router keeps routing
            });
        }
        if (this.#queued === 0) for (const w of this.#idleWaiters.splice(0)) w();
      });
    }
    return targets.length;
  }

  async request(subject: string, data: Uint8Array | string, opts: RequestOptions = {}): Promise<Msg> {
    this.#assertOpen();
    const timeoutMs = opts.timeoutMs ?? 5000;
    const inbox = `_INBOX.${randomUUID().replaceAll('-', '')}`;
    return new Promise<Msg>((resolve, reject) => {
      let sub: Subscription | undefined;
      const timer = setTimeout(() => {
        void sub?.unsubscribe();
        reject(new BusError('ERR_BUS_TIMEOUT', `request to "${subject}" timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      sub = this.subscribe(inbox, (msg) => {
        clearTimeout(timer);
        void sub?.unsubscribe();
        resolve(msg);
      });
      let delivered = 0;
      try {
        delivered = this.publish(subject, data, opts.headers ?? {}, inbox);
      } catch (err) {
        clearTimeout(timer);
        void sub.unsubscribe();
        reject(err);
        return;
      }
      if (delivered === 0) {
        clearTimeout(timer);
        void sub.unsubscribe();
        reject(new BusError('ERR_BUS_NO_RESPONDER', `no responder for "${subject}"`));
      }
    });
  }

  /** Resolves once every message already published has been handed to its subscriber. */
  settled(): Promise<void> {
    if (this.#queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async drain(): Promise<void> {
    // Replies published by handlers that just finished still reach their requesters.
    await this.settled();
    const subs = [...this.#subs];
    for (const s of subs) s.active = false;
    await Promise.all(subs.map((s) => s.inflight.idle()));
    this.#subs.clear();
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new BusError('ERR_BUS_CLOSED', 'the bus is closed');
  }
}
