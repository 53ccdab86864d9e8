import type { AuditEvent } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import { AuditWriterError } from '../errors.js';
import type { Sink, SinkDoc, WriteOutcome } from '../sinks/types.js';
import { backoffMs, sleep } from '@agentgate/bus';
import { fillerDoc, fillerId } from './filler.js';
import { countWrites } from './write-metrics.js';

/** One sealed event to write; `rejected` is set once an index refused its content. */
export interface WriteItem {
  sealed: AuditEvent;
  rejected?: string;
}

/** What writeAll needs from the writer. */
export interface WriteContext {
  /** Keeps the batch's messages from being redelivered while we retry. */
  working(): void;
  /** True when stop() gave up waiting: leave the batch unacked. */
  giveUp(): boolean;
  signal?: AbortSignal;
  logger: Logger;
  deadLetter(sealed: AuditEvent, reason: string): Promise<void>;
}

function toDoc(item: WriteItem, ingested: string): SinkDoc {
  const e = item.sealed;
  if (item.rejected !== undefined) {
    return { id: fillerId(e.agentgate.chain!.partition, e.event.sequence!), doc: fillerDoc(e, 'dead-letter', item.rejected), timestamp: e['@timestamp'] };
  }
  // event.ingested is outside the hash (HASH_EXCLUDED_FIELDS), so setting it here keeps the seal valid.
  return { id: e.event.id, doc: { ...e, event: { ...e.event, ingested } }, timestamp: e['@timestamp'] };
}

/**
 * Writes the items to every sink until each one is confirmed (created or already there).
 * Transient failures are retried with backoff forever (the stream holds the events);
 * a content rejection is dead-lettered and its slot written as a filler.
 */
export async function writeAll(sinks: Sink[], items: WriteItem[], ctx: WriteContext): Promise<{ created: number; exists: number; retries: number }> {
  let created = 0;
  let exists = 0;
  let retries = 0;
  for (const sink of sinks) {
    let todo = items.map((i) => i);
    const fillerFailed = new Set<WriteItem>();
    for (let attempt = 0; todo.length > 0; ) {
      const ingested = new Date().toISOString();
      let outcomes: WriteOutcome[];
      try {
        outcomes = await sink.write(todo.map((i) => toDoc(i, ingested)));
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_SINK_UNAVAILABLE') throw err;
        outcomes = todo.map(() => ({ status: 'retry', reason: (err as Error).message }));
      }
      const next: WriteItem[] = [];
      let transient = 0;
      let firstReason = '';
      for (let k = 0; k < todo.length; k++) {
        const item = todo[k]!;
        const o = outcomes[k] ?? { status: 'retry', reason: 'no outcome' };
        if (o.status === 'created') created += sink === sinks[0] && item.rejected === undefined ? 1 : 0;
        else if (o.status === 'exists') exists += sink === sinks[0] && item.rejected === undefined ? 1 : 0;
        else if (o.status === 'retry') {
          transient++;
          firstReason ||= o.reason;
          next.push(item);
        } else if (item.rejected === undefined) {
          await ctx.deadLetter(item.sealed, o.reason);
          item.rejected = o.reason;
          next.push(item);
        } else if (!fillerFailed.has(item)) {
          // Should not happen (the filler fits the template); the verifier will show the slot as deleted.
          fillerFailed.add(item);
          ctx.logger.error({ seq: item.sealed.event.sequence, reason: o.reason }, 'chain filler rejected by the index');
        }
      }
      todo = next;
      countWrites(sink.kind, outcomes);
      if (transient === 0) continue;
      retries++;
      if (attempt % 10 === 0) ctx.logger.warn({ sink: sink.kind, pending: transient, reason: firstReason.slice(0, 300) }, 'audit sink busy or down; retrying');
      if (ctx.giveUp()) throw new AuditWriterError('ERR_WRITER_STOPPED', 'writer stopped while the sink was failing; batch left unacked');
      ctx.working();
      await sleep(backoffMs(attempt++), ctx.signal);
    }
  }
  return { created, exists, retries };
}
