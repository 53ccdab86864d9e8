import type { Bus } from '@agentgate/bus';
import { checkpointSubject } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import type { CheckpointSigner } from '../checkpoint.js';
import type { Sink } from '../sinks/types.js';

/** When the checkpointer signs (the `audit.checkpoint` section). */
export interface CheckpointPolicy {
  /** Sign once this many events are past the last checkpoint. */
  everyEvents: number;
  /** Sign when the last checkpoint is this old (and the head moved). */
  everySeconds: number;
  /** Sign once the head has not moved for this long: the tail past the last checkpoint stays this short. */
  idleMs: number;
}

/**
 * Signs a checkpoint every `everyEvents` confirmed events, every `everySeconds`, and once the
 * head has been still for `idleMs` (so a burst is covered a moment after its last event, not a
 * period later), and writes it to every sink AND to the AUDIT_CHECKPOINTS stream: the copy
 * outside the index is what lets `verify` notice a truncated tail or a rewritten index.
 *
 * `maybe` is called by the writer's loop after every batch and every empty pull (at most
 * ~1 s apart), so the idle checkpoint lands within `idleMs` plus one pull wait.
 */
export class Checkpointer {
  #lastSeq = 0;
  #lastAt = Date.now();
  /** The head seen by the previous call and since when it has not moved. */
  #headSeq = 0;
  #headSince = Date.now();
  readonly #bus: Bus;
  readonly #sinks: Sink[];
  readonly #signer: CheckpointSigner;
  readonly #partition: string;
  readonly #policy: CheckpointPolicy;
  readonly #logger: Logger;

  constructor(bus: Bus, sinks: Sink[], signer: CheckpointSigner, partition: string, policy: CheckpointPolicy, logger: Logger) {
    this.#bus = bus;
    this.#sinks = sinks;
    this.#signer = signer;
    this.#partition = partition;
    this.#policy = policy;
    this.#logger = logger;
  }

  /** Checkpoints `head` when due (or when `force`), only if it moved since the last one. */
  async maybe(head: { seq: number; hash: string }, force = false): Promise<void> {
    const now = Date.now();
    if (head.seq !== this.#headSeq) {
      this.#headSeq = head.seq;
      this.#headSince = now;
    }
    if (head.seq <= this.#lastSeq) return;
    const p = this.#policy;
    const due = head.seq - this.#lastSeq >= p.everyEvents || now - this.#lastAt >= p.everySeconds * 1000 || now - this.#headSince >= p.idleMs;
    if (!due && !force) return;
    const cp = await this.#signer.sign({ partition: this.#partition, seq: head.seq, hash: head.hash, count: head.seq, time: new Date().toISOString() });
    try {
      await this.#bus.streams.publish(checkpointSubject(this.#partition), JSON.stringify(cp), { msgId: `${this.#partition}-${cp.seq}`, timeoutMs: 10_000 });
      for (const s of this.#sinks) await s.writeCheckpoint(cp);
      this.#lastSeq = head.seq;
      this.#lastAt = Date.now();
      this.#logger.info({ partition: this.#partition, seq: cp.seq }, 'audit checkpoint signed');
    } catch (err) {
      // A missed checkpoint weakens nothing already written; the next call (idle or periodic) covers it.
      this.#logger.warn({ err, partition: this.#partition, seq: cp.seq }, 'audit checkpoint not written; retrying at the next one');
    }
  }
}
