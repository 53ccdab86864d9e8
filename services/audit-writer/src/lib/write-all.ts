import type { AuditEvent } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import { AuditWriterError } from '../errors.js';
import type { Sink, SinkDoc, WriteOutcome } from '../sinks/types.js';
import { backoffMs, sleep } from '@agentgate/bus';
import { duplicateFillerDoc, fillerDoc, fillerId, slotOf } from './filler.js';
import { countWrites } from './write-metrics.js';

/** One sealed event to write; `rejected` is set once an index refused its content. */
export interface WriteItem {
  sealed: AuditEvent;
  rejected?: string;
  /**
   * Set when the index already holds this event in another chain slot (`partition/seq`): another
   * writer sealed and stored it first (a redelivery raced it there). This slot gets a filler.
   */
  duplicateOf?: string;
}

const isFillerItem = (i: WriteItem): boolean => i.rejected !== undefined || i.duplicateOf !== undefined;

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
  if (item.duplicateOf !== undefined) {
    return { id: fillerId(e.agentgate.chain!.partition, e.event.sequence!), doc: duplicateFillerDoc(e, item.duplicateOf), timestamp: e['@timestamp'] };
  }
  // event.ingested is outside the hash (HASH_EXCLUDED_FIELDS), so setting it here keeps the seal valid.
  return { id: e.event.id, doc: { ...e, event: { ...e.event, ingested } }, timestamp: e['@timestamp'] };
}

/**
 * Of the items a sink answered "already there" for, those stored in another chain slot: another
 * writer (another partition) sealed the same event first. Writers sharing the stream each check
 * the index before sealing, but a redelivery can reach a second writer while the first one is
 * still writing; each slot must still hold a document or verify reports it deleted.
 */
async function sealedElsewhere(sink: Sink, items: WriteItem[]): Promise<Map<WriteItem, string>> {
  const out = new Map<WriteItem, string>();
  if (items.length === 0 || !sink.storedDocs) return out;
  const docs = await sink.storedDocs(
    items.map((i) => i.sealed.event.id),
    items.map((i) => i.sealed['@timestamp']),
  );
  for (const item of items) {
    const stored = slotOf(docs.get(item.sealed.event.id));
    const own = `${item.sealed.agentgate.chain?.partition}/${item.sealed.event.sequence}`;
    if (stored !== undefined && stored !== own) out.set(item, stored);
  }
  return out;
}

/**
 * Writes the items to every sink until each one is confirmed (created or already there).
 * Transient failures are retried with backoff forever (the stream holds the events);
 * a content rejection is dead-lettered and its slot written as a filler, and so is the slot of
 * an event another writer stored first in its own chain.
 */
export async function writeAll(
  sinks: Sink[],
  items: WriteItem[],
  ctx: WriteContext,
): Promise<{ created: number; exists: number; duplicates: number; retries: number }> {
  let created = 0;
  let exists = 0;
  let duplicates = 0;
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
      const present: WriteItem[] = [];
      let transient = 0;
      let firstReason = '';
      for (let k = 0; k < todo.length; k++) {
        const item = todo[k]!;
        const o = outcomes[k] ?? { status: 'retry', reason: 'no outcome' };
        if (o.status === 'created') created += sink === sinks[0] && !isFillerItem(item) ? 1 : 0;
        else if (o.status === 'exists') {
          if (!isFillerItem(item)) present.push(item);
        } else if (o.status === 'retry') {
          transient++;
          firstReason ||= o.reason;
          next.push(item);
        } else if (!isFillerItem(item)) {
          await ctx.deadLetter(item.sealed, o.reason);
          item.rejected = o.reason;
          next.push(item);
        } else if (!fillerFailed.has(item)) {
          // Should not happen (the filler fits the template); the verifier will show the slot as deleted.
          fillerFailed.add(item);
          ctx.logger.error({ seq: item.sealed.event.sequence, reason: o.reason }, 'chain filler rejected by the index');
        }
      }
      let elsewhere: Map<WriteItem, string>;
      try {
        elsewhere = await sealedElsewhere(sink, present);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_SINK_UNAVAILABLE') throw err;
        // Asked again on the next attempt (the write answers "already there" again).
        elsewhere = new Map();
        transient += present.length;
        firstReason ||= (err as Error).message;
        next.push(...present);
        present.length = 0;
      }
      for (const item of present) {
        const stored = elsewhere.get(item);
        if (stored === undefined) {
          exists += sink === sinks[0] ? 1 : 0;
          continue;
        }
        item.duplicateOf = stored;
        duplicates += sink === sinks[0] ? 1 : 0;
        ctx.logger.warn(
          { sink: sink.kind, eventId: item.sealed.event.id, seq: item.sealed.event.sequence, storedAt: stored },
          'event already sealed by another writer; its slot here gets a filler',
        );
        next.push(item);
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
  return { created, exists, duplicates, retries };
}
