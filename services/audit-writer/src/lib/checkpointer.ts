import type { Bus } from '@agentgate/bus';
import { checkpointSubject } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import type { CheckpointSigner } from '../checkpoint.js';
import type { Sink } from '../sinks/types.js';

/**
 * Signs a checkpoint every `everyEvents` confirmed events or `everySeconds`, and writes it
 * to every sink AND to the AUDIT_CHECKPOINTS stream: the copy outside the index is what
 * lets `verify` notice a truncated tail or a rewritten index.
 */
export class Checkpointer {
  #lastSeq = 0;
  #lastAt = Date.now();
  constructor(
    private readonly bus: Bus,
    private readonly sinks: Sink[],
    private readonly signer: CheckpointSigner,
    private readonly partition: string,
    private readonly everyEvents: number,
    private readonly everySeconds: number,
    private readonly logger: Logger,
  ) {}

  /** Checkpoints `head` when due (or when `force`), only if it moved since the last one. */
  async maybe(head: { seq: number; hash: string }, force = false): Promise<void> {
    if (head.seq <= this.#lastSeq) return;
    const due = head.seq - this.#lastSeq >= this.everyEvents || Date.now() - this.#lastAt >= this.everySeconds * 1000;
    if (!due && !force) return;
    const cp = await this.signer.sign({ partition: this.partition, seq: head.seq, hash: head.hash, count: head.seq, time: new Date().toISOString() });
    try {
      await this.bus.streams.publish(checkpointSubject(this.partition), JSON.stringify(cp), { msgId: `${this.partition}-${cp.seq}`, timeoutMs: 10_000 });
      for (const s of this.sinks) await s.writeCheckpoint(cp);
      this.#lastSeq = head.seq;
      this.#lastAt = Date.now();
      this.logger.info({ partition: this.partition, seq: cp.seq }, 'audit checkpoint signed');
    } catch (err) {
      // A missed checkpoint weakens nothing already written; the next one covers it.
      this.logger.warn({ err, partition: this.partition, seq: cp.seq }, 'audit checkpoint not written; retrying at the next one');
    }
  }
}
