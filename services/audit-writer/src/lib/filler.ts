import { type AuditEvent, ECS_VERSION, chainOf } from '@agentgate/events';

/** Why a chain slot holds a filler instead of the event. */
export type FillerKind = 'dead-letter' | 'duplicate';

/** `_id` of the filler document of a chain slot (never an event id, so it cannot conflict with one). */
export function fillerId(partition: string, seq: number): string {
  return `filler-${partition}-${seq}`;
}

/**
 * The document that keeps a chain slot when its sealed event cannot be
 * indexed (rejected by the index → dead-lettered, or a second copy of an
 * already indexed event). It carries the slot's chain fields unchanged, so
 * the next event still links to it; the verifier cannot recompute its hash
 * (the content is in the dead-letter stream) and lists it as a filler.
 */
export function fillerDoc(sealed: AuditEvent, kind: FillerKind, reason: string): Record<string, unknown> {
  const chain = chainOf(sealed)!;
  return {
    '@timestamp': sealed['@timestamp'],
    ecs: { version: ECS_VERSION },
    event: {
      id: sealed.event.id,
      kind: 'event',
      category: ['database'],
      type: ['info'],
      action: 'audit.chain_filler',
      outcome: 'unknown',
      reason: reason.slice(0, 1000),
      dataset: 'agentgate.audit',
      module: 'agentgate',
      sequence: chain.seq,
      hash: chain.hash,
    },
    observer: { type: 'proxy', vendor: 'agentgate' },
    agentgate: {
      session: { id: sealed.agentgate.session.id },
      action: { id: sealed.agentgate.action.id, phase: 'failed' },
      chain: { partition: chain.partition, prev_hash: chain.prevHash },
      // The event id is event.id: the filler takes the slot's own event id, under another _id.
      filler: { kind },
    },
  };
}

/** The filler of a slot whose event another writer stored first, in chain slot `storedAt` (`partition/seq`). */
export function duplicateFillerDoc(sealed: AuditEvent, storedAt: string): Record<string, unknown> {
  return fillerDoc(sealed, 'duplicate', `event already stored in chain slot ${storedAt} (sealed there by another writer first)`);
}

/** True when a stored document is a chain filler. */
export function isFiller(doc: unknown): boolean {
  const ag = (doc as { agentgate?: { filler?: unknown } } | null)?.agentgate;
  return ag?.filler !== undefined && ag.filler !== null;
}

/** The chain slot (`partition/seq`) a stored document holds, or undefined when it has none. */
export function slotOf(doc: unknown): string | undefined {
  const d = doc as { event?: { sequence?: unknown }; agentgate?: { chain?: { partition?: unknown } } } | null | undefined;
  const partition = d?.agentgate?.chain?.partition;
  const seq = d?.event?.sequence;
  return typeof partition === 'string' && typeof seq === 'number' ? `${partition}/${seq}` : undefined;
}
