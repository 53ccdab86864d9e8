import { join } from 'node:path';
import type { Bus, Consumer, StreamMsg } from '@agentgate/bus';
import type { AuditConfig, BusConfig, DeepReadonly } from '@agentgate/config';
import { type AuditEvent, decodeEvent, sealEvent } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import { type CheckpointSigner, loadCheckpointSigner } from './checkpoint.js';
import { AuditWriterError } from './errors.js';
import { backoffMs, sleep } from './lib/backoff.js';
import { CHAIN_BUCKET, ChainState, type Reserved } from './lib/chain-state.js';
import { Checkpointer } from './lib/checkpointer.js';
import { publishDeadLetter } from './lib/dead-letter.js';
import { bindWriterStreams } from './lib/streams.js';
import { type WriteItem, writeAll } from './lib/write-all.js';
import { createSink } from './sinks/create-sink.js';
import type { Sink } from './sinks/types.js';

/** The configuration the writer reads: the `audit` and `bus` sections. */
export interface AuditWriterConfig {
  audit: DeepReadonly<AuditConfig>;
  bus: DeepReadonly<Pick<BusConfig, 'dataDir'> & { streams: Pick<BusConfig['streams'], 'maxBytes' | 'maxMsgs' | 'replicas'> }>;
}

/** Overrides for tests and the one-process runner. */
export interface AuditWriterOptions {
  sinks?: Sink[];
  signer?: CheckpointSigner;
  /** How long stop() keeps retrying a batch in flight before leaving it unacked (default 10 s). */
  stopTimeoutMs?: number;
}

/** Counters of a running writer. */
export interface WriterStats {
  indexed: number;
  alreadyIndexed: number;
  deadLettered: number;
  batches: number;
  retries: number;
  head: number;
}

/** A running writer. */
export interface AuditWriter {
  readonly partition: string;
  readonly signer: CheckpointSigner;
  stats(): WriterStats;
  /** Settles when the consuming loop ends: with the fatal error (e.g. ERR_CHAIN_CONFLICT), or undefined after stop(). */
  readonly closed: Promise<Error | undefined>;
  /** Finishes the batch in flight (acks it), writes a last checkpoint, closes the sinks. */
  stop(): Promise<void>;
}

export { WRITER_DURABLE } from './lib/streams.js';

async function withRetry<T>(fn: () => Promise<T>, stopped: () => boolean, logger: Logger, what: string, onRetry?: () => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (stopped() || (err as { code?: string }).code !== 'ERR_SINK_UNAVAILABLE') throw err;
      onRetry?.();
      if (attempt % 10 === 0) logger.warn({ err, what }, 'audit sink unavailable; retrying');
      await sleep(backoffMs(attempt));
    }
  }
}

/**
 * Starts the audit writer: consumes AUDIT_CLEAN with a durable pull consumer, seals each
 * event into this partition's hash chain in consumption order, bulk-creates it in every
 * sink (`_id` = event id) and acks only after every sink confirmed it (created or 409).
 * 429/5xx/unreachable are retried with backoff without acking; content rejected by an index
 * goes to AUDIT_DLQ (its chain slot gets a filler) before its ack.
 */
export async function startAuditWriter(bus: Bus, config: AuditWriterConfig, logger: Logger, opts: AuditWriterOptions = {}): Promise<AuditWriter> {
  const audit = config.audit;
  const partition = audit.partition;
  const log = logger.child({ partition });
  // Declared before anything else, so events published meanwhile wait in the stream for this consumer.
  const consumer: Consumer = await bindWriterStreams(bus, config.bus.streams, { ackWaitMs: audit.ackWaitMs, maxAckPending: Math.max(1000, audit.batch.maxEvents * 4) }, log);

  const sinks = opts.sinks ?? audit.sinks.map((s) => createSink(s, audit.indexPrefix));
  let stopping = false;
  for (const s of sinks) await withRetry(() => s.setup(), () => stopping, log, `${s.kind} setup`);

  let signer = opts.signer;
  if (!signer) {
    const keyPath = audit.checkpoint.keyPath ?? join(config.bus.dataDir, 'audit-checkpoint-key.json');
    // A configured path that does not exist yet (a first start on a fresh volume) gets a new key, loudly:
    // refusing to start would leave the trail unsigned; a Secret-mounted key is read-only and always exists.
    const loaded = await loadCheckpointSigner(keyPath, { generate: true });
    signer = loaded.signer;
    if (loaded.generated) {
      const why = audit.checkpoint.keyPath === undefined ? 'no audit.checkpoint.keyPath configured' : 'the configured audit.checkpoint.keyPath did not exist';
      log.warn({ keyPath, kid: signer.kid }, `generated a checkpoint signing key (${why}); keep it and its .pub.json: agentgate verify needs the public key`);
    }
  }

  const chain = new ChainState(await bus.kv(CHAIN_BUCKET, { history: 1 }), partition);
  await chain.load();
  // Positions reserved by a previous run whose events reached every sink need no replay.
  if (chain.value.reserved.length > 0) {
    const r = chain.value.reserved;
    let present: Set<string> | undefined;
    for (const s of sinks) {
      const got = await withRetry(() => s.existing(r.map((x) => x.id), r.map((x) => x.ts)), () => false, log, 'existing');
      present = present ? new Set([...present].filter((id) => got.has(id))) : got;
    }
    chain.value.reserved = r.filter((x) => !present?.has(x.id));
    log.info({ head: chain.value.seq, reserved: chain.value.reserved.length }, 'audit writer resumes a chain with reserved positions');
  }

  const checkpointer = new Checkpointer(bus, sinks, signer, partition, audit.checkpoint, log);
  const stats: WriterStats = { indexed: 0, alreadyIndexed: 0, deadLettered: 0, batches: 0, retries: 0, head: chain.value.seq };
  const abort = new AbortController();
  let stopDeadline = Number.POSITIVE_INFINITY;
  let carry: StreamMsg[] = [];

  /** The head of the contiguous prefix every sink holds (what a checkpoint may cover). */
  const confirmedHead = (): { seq: number; hash: string } => {
    const first = chain.value.reserved.reduce<Reserved | undefined>((m, r) => (!m || r.seq < m.seq ? r : m), undefined);
    return first ? { seq: first.seq - 1, hash: first.prev } : { seq: chain.value.seq, hash: chain.value.hash };
  };

  const collect = async (): Promise<StreamMsg[]> => {
    const out = carry;
    carry = [];
    let bytes = out.reduce((n, m) => n + m.data.length, 0);
    if (out.length === 0) out.push(...(await consumer.fetch({ batch: audit.batch.maxEvents, expiresMs: 1000 })));
    if (out.length === 0) return out;
    bytes = out.reduce((n, m) => n + m.data.length, 0);
    const start = Date.now();
    while (out.length < audit.batch.maxEvents && bytes < audit.batch.maxBytes && !stopping) {
      const left = audit.batch.maxWaitMs - (Date.now() - start);
      if (left <= 0) break;
      // Nothing waiting: close the batch now rather than block in a pull request (NATS waits ≥ 1 s).
      if ((await consumer.pending()).pending === 0) break;
      const got = await consumer.fetch({ batch: audit.batch.maxEvents - out.length, expiresMs: Math.min(left, 1000) });
      if (got.length === 0) break;
      for (const m of got) {
        // Over the byte budget: keep the rest (unacked) for the next batch.
        if (bytes >= audit.batch.maxBytes) carry.push(m);
        else {
          out.push(m);
          bytes += m.data.length;
        }
      }
    }
    return out;
  };

  const processBatch = async (msgs: StreamMsg[]): Promise<void> => {
    const decoded: Array<{ msg: StreamMsg; event: AuditEvent }> = [];
    for (const msg of msgs) {
      try {
        decoded.push({ msg, event: decodeEvent(msg.data) });
      } catch (err) {
        const reason = `invalid event: ${(err as Error).message}`;
        await publishDeadLetter(
          bus,
          { stage: 'writer', reason, partition, streamSeq: msg.seq, raw: Buffer.from(msg.data).toString('base64'), time: new Date().toISOString() },
          `writer-raw-${msg.seq}`,
        );
        stats.deadLettered++;
        log.error({ streamSeq: msg.seq, reason }, 'audit event dead-lettered (invalid)');
      }
    }
    const reservedById = new Map(chain.value.reserved.map((r) => [r.id, r]));
    const fresh = decoded.filter((d) => !reservedById.has(d.event.event.id));
    // Always ask the sinks: a redelivery whose ack was lost must not take a second chain slot.
    let present: Set<string> | undefined;
    for (const s of sinks) {
      const got = await withRetry(
        () => s.existing(fresh.map((d) => d.event.event.id), fresh.map((d) => d.event['@timestamp'])),
        () => Date.now() > stopDeadline,
        log,
        'existing',
        () => stats.retries++,
      );
      present = present ? new Set([...present].filter((id) => got.has(id))) : got;
    }
    const items: WriteItem[] = [];
    const seen = new Set<string>();
    for (const { event } of decoded) {
      const id = event.event.id;
      if (seen.has(id)) continue;
      seen.add(id);
      const r = reservedById.get(id);
      if (r) {
        const sealed = sealEvent(event, { partition, seq: r.seq, prevHash: r.prev });
        if (sealed.event.hash !== r.hash) log.error({ eventId: id, seq: r.seq }, 'redelivered event differs from its first delivery');
        items.push({ sealed });
      } else if (!present?.has(id)) {
        const seq = chain.value.seq + 1;
        const sealed = sealEvent(event, { partition, seq, prevHash: chain.value.hash });
        const hash = sealed.event.hash!;
        chain.value.reserved.push({ id, seq, prev: chain.value.hash, hash, ts: event['@timestamp'] });
        chain.value.seq = seq;
        chain.value.hash = hash;
        items.push({ sealed });
      } else stats.alreadyIndexed++;
    }
    // The reservation is durable before any sink sees the event: a crash replays the same slots.
    if (items.length > 0) await chain.save();
    const result = await writeAll(sinks, items, {
      working: () => {
        for (const m of msgs) m.working();
      },
      giveUp: () => Date.now() > stopDeadline,
      signal: abort.signal,
      logger: log,
      deadLetter: async (sealed, reason) => {
        const seq = sealed.event.sequence;
        const msg = decoded.find((d) => d.event.event.id === sealed.event.id)?.msg;
        await publishDeadLetter(
          bus,
          { stage: 'writer', reason, partition, streamSeq: msg?.seq ?? 0, event: sealed, time: new Date().toISOString() },
          `writer-${partition}-${seq}`,
        );
        stats.deadLettered++;
        log.error({ eventId: sealed.event.id, seq, reason }, 'audit event dead-lettered (rejected by the index)');
      },
    });
    stats.retries += result.retries;
    stats.indexed += result.created;
    stats.alreadyIndexed += result.exists;
    await Promise.all(msgs.map((m) => m.ack()));
    const done = new Set(items.map((i) => i.sealed.event.id));
    chain.value.reserved = chain.value.reserved.filter((r) => !done.has(r.id));
    // The head on the bus is verify's second witness: once saved without these reservations, a cut of them is a cut tail, not "in flight".
    if (items.length > 0) await chain.save();
    stats.batches++;
    stats.head = chain.value.seq;
  };

  const loop = (async () => {
    let attempt = 0;
    while (!stopping) {
      try {
        const msgs = await collect();
        if (msgs.length > 0) await processBatch(msgs);
        await checkpointer.maybe(confirmedHead());
        attempt = 0;
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_CHAIN_CONFLICT') {
          log.fatal({ err }, 'audit writer stops: chain partition owned by another writer');
          throw err;
        }
        if (stopping) break;
        log.error({ err }, 'audit batch failed; its events stay unacked and come back');
        await sleep(backoffMs(attempt++), abort.signal);
      }
    }
  })();
  loop.catch(() => undefined);

  log.info({ sinks: sinks.map((s) => s.kind), head: chain.value.seq }, 'audit writer started');
  return {
    partition,
    signer,
    stats: () => ({ ...stats }),
    closed: loop.then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    ),
    async stop() {
      if (stopping) return;
      stopping = true;
      stopDeadline = Date.now() + (opts.stopTimeoutMs ?? 10_000);
      await loop.catch(() => undefined);
      abort.abort();
      for (const m of carry) m.nak();
      carry = [];
      try {
        await checkpointer.maybe(confirmedHead(), true);
        await chain.save();
      } catch (err) {
        log.warn({ err }, 'audit writer could not save its final state; the next start resumes from the reservations');
      }
      for (const s of sinks) await s.close();
      log.info({ ...stats }, 'audit writer stopped');
    },
  };
}

export { AuditWriterError };
