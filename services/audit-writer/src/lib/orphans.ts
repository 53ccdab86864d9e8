import type { AuditEvent } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import type { Sink } from '../sinks/types.js';
import type { ChainStateValue, Reserved } from './chain-state.js';
import { duplicateFillerDoc, fillerId, slotOf } from './filler.js';

/**
 * Resolves this writer's reservations that no batch of its own is working on any more: their
 * batch failed after reserving (a chain save or an ack lost in a NATS failover), and the
 * redelivered message may have gone to another partition's writer, which shares the stream.
 * Nothing would ever come back to fill such a slot, the checkpoint could never pass it and
 * verify would report it deleted. Per sink:
 *   - the event is stored in this very slot → the slot is done (the write landed, only the rest failed);
 *   - the event is stored in another writer's slot → this slot gets a `duplicate` filler;
 *   - the event is not stored yet → left reserved: its message is still on its way (here or there).
 * Returns the released reservations (the caller saves the chain state).
 */
export async function resolveOrphans(
  chain: ChainStateValue,
  partition: string,
  sinks: readonly Sink[],
  busy: ReadonlySet<string>,
  log: Logger,
): Promise<Reserved[]> {
  const candidates = chain.reserved.filter((r) => !busy.has(r.id));
  if (candidates.length === 0) return [];
  const waiting = new Set<string>();
  for (const sink of sinks) {
    const todo = candidates.filter((r) => !waiting.has(r.id));
    if (todo.length === 0) break;
    if (!sink.storedDocs) {
      // A sink without a chain (the OCSF export): it only has to hold the event.
      const have = await sink.existing(
        todo.map((r) => r.id),
        todo.map((r) => r.ts),
      );
      for (const r of todo) if (!have.has(r.id)) waiting.add(r.id);
      continue;
    }
    const docs = await sink.storedDocs(
      todo.map((r) => r.id),
      todo.map((r) => r.ts),
    );
    const fillers: Array<{ r: Reserved; doc: AuditEvent; at: string }> = [];
    for (const r of todo) {
      const doc = docs.get(r.id);
      const at = slotOf(doc);
      if (!doc || !at) waiting.add(r.id);
      else if (at !== `${partition}/${r.seq}`) fillers.push({ r, doc, at });
    }
    if (fillers.length === 0) continue;
    const outcomes = await sink.write(
      fillers.map(({ r, doc, at }) => ({
        id: fillerId(partition, r.seq),
        doc: duplicateFillerDoc(ownSlot(doc, partition, r), at),
        timestamp: r.ts,
      })),
    );
    fillers.forEach(({ r }, k) => {
      const o = outcomes[k];
      if (o?.status !== 'created' && o?.status !== 'exists') waiting.add(r.id);
    });
  }
  const settled = new Set(candidates.filter((r) => !waiting.has(r.id)).map((r) => r.id));
  if (settled.size === 0) return [];
  const released = chain.reserved.filter((r) => settled.has(r.id));
  chain.reserved = chain.reserved.filter((r) => !settled.has(r.id));
  log.warn(
    { partition, released: released.map((r) => r.seq) },
    'reserved chain positions settled without their batch (stored, or a filler where another writer stored the event)',
  );
  return released;
}

/** The stored copy of an event, moved into this writer's slot (what the filler keeps of it: ids and chain fields). */
function ownSlot(doc: AuditEvent, partition: string, r: Reserved): AuditEvent {
  return {
    ...doc,
    event: { ...doc.event, sequence: r.seq, hash: r.hash },
    agentgate: { ...doc.agentgate, chain: { partition, prev_hash: r.prev } },
  } as AuditEvent;
}
