import { join } from 'node:path';
import { type Bus, retry } from '@agentgate/bus';
import type { AuditConfig, BusConfig, DeepReadonly } from '@agentgate/config';
import type { Logger } from '@agentgate/log';
import { type CheckpointSigner, loadCheckpointSigner } from './checkpoint.js';
import { AuditWriterError } from './errors.js';
import { sinkRetry } from './lib/batch-steps.js';
import { CHAIN_BUCKET, ChainState } from './lib/chain-state.js';
import { Checkpointer } from './lib/checkpointer.js';
import { resolveOrphans } from './lib/orphans.js';
import { bindWriterStreams } from './lib/streams.js';
import { WriterLoop, type WriterStats } from './lib/writer-loop.js';
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
  /**
   * Look up every unreserved event in the sinks before it takes a slot, first deliveries too (the
   * behaviour before issue 21; tests and the bench compare with it). Default: only redeliveries.
   */
  lookupAll?: boolean;
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

/** Sets up every sink (index templates, files), retrying while one is unreachable. */
async function setupSinks(sinks: readonly Sink[], log: Logger): Promise<void> {
  for (const s of sinks)
    await retry(
      () => s.setup(),
      sinkRetry(log, `${s.kind} setup`, () => false),
    );
}

/** The checkpoint signer: the injected one, else the key at audit.checkpoint.keyPath (generated on a first start). */
async function resolveSigner(config: AuditWriterConfig, log: Logger, injected: CheckpointSigner | undefined): Promise<CheckpointSigner> {
  if (injected) return injected;
  const audit = config.audit;
  const keyPath = audit.checkpoint.keyPath ?? join(config.bus.dataDir, 'audit-checkpoint-key.json');
  // A configured path that does not exist yet (a first start on a fresh volume) gets a new key, loudly:
  // refusing to start would leave the trail unsigned; a Secret-mounted key is read-only and always exists.
  const loaded = await loadCheckpointSigner(keyPath, { generate: true });
  if (loaded.generated) {
    const why = audit.checkpoint.keyPath === undefined ? 'no audit.checkpoint.keyPath configured' : 'the configured audit.checkpoint.keyPath did not exist';
    log.warn(
      { keyPath, kid: loaded.signer.kid },
      `generated a checkpoint signing key (${why}); keep it and its .pub.json: agentgate verify needs the public key`,
    );
  }
  return loaded.signer;
}

/**
 * Loads this partition's chain head. Positions reserved by a previous run are settled when their
 * events reached every sink (in this slot, or in another writer's slot: then a filler here); the
 * others wait for their redelivery, which takes the same slot.
 */
async function openChain(bus: Bus, partition: string, sinks: readonly Sink[], log: Logger): Promise<{ chain: ChainState; settled: string[] }> {
  const chain = new ChainState(await bus.kv(CHAIN_BUCKET, { history: 1 }), partition);
  await chain.load();
  const settled: string[] = [];
  if (chain.value.reserved.length > 0) {
    const released = await retry(
      () => resolveOrphans(chain.value, partition, sinks, new Set(), log),
      sinkRetry(log, 'reserved positions', () => false),
    );
    // Their messages may come back (a crash before the ack): the loop treats them as present.
    for (const r of released) settled.push(r.id);
    log.info({ head: chain.value.seq, reserved: chain.value.reserved.length }, 'audit writer resumes a chain with reserved positions');
  }
  return { chain, settled };
}

/**
 * Starts the audit writer: consumes AUDIT_CLEAN with a durable pull consumer, seals each
 * event into this partition's hash chain in consumption order, bulk-creates it in every
 * sink (`_id` = event id) and acks only after every sink confirmed it (created or 409).
 * 429/5xx/unreachable are retried with backoff without acking; content rejected by an index
 * goes to AUDIT_DLQ (its chain slot gets a filler) before its ack.
 *
 * Stages: bind the streams → set up the sinks → resolve the signer → open the chain →
 * run the {@link WriterLoop} (collect → process → checkpoint) until stop.
 */
export async function startAuditWriter(bus: Bus, config: AuditWriterConfig, logger: Logger, opts: AuditWriterOptions = {}): Promise<AuditWriter> {
  const audit = config.audit;
  const partition = audit.partition;
  const log = logger.child({ partition });
  // Declared before anything else, so events published meanwhile wait in the stream for this consumer.
  const consumer = await bindWriterStreams(
    bus,
    config.bus.streams,
    { ackWaitMs: audit.ackWaitMs, maxAckPending: Math.max(1000, audit.batch.maxEvents * 4) },
    log,
  );
  const sinks = opts.sinks ?? audit.sinks.map((s) => createSink(s, audit.indexPrefix));
  await setupSinks(sinks, log);
  const signer = await resolveSigner(config, log, opts.signer);
  const { chain, settled } = await openChain(bus, partition, sinks, log);
  const checkpointer = new Checkpointer(bus, sinks, signer, partition, audit.checkpoint, log);
  const loop = new WriterLoop({
    bus,
    sinks,
    chain,
    checkpointer,
    consumer,
    batch: audit.batch,
    partition,
    log,
    knownPresent: settled,
    ...(opts.lookupAll && { lookupAll: true }),
  });
  const running = loop.run();
  running.catch(() => undefined);
  log.info({ sinks: sinks.map((s) => s.kind), head: chain.value.seq }, 'audit writer started');
  return writerHandle(loop, running, signer, partition, sinks, log, opts.stopTimeoutMs ?? 10_000);
}

function writerHandle(
  loop: WriterLoop,
  running: Promise<void>,
  signer: CheckpointSigner,
  partition: string,
  sinks: readonly Sink[],
  log: Logger,
  stopTimeoutMs: number,
): AuditWriter {
  return {
    partition,
    signer,
    stats: () => ({ ...loop.stats }),
    closed: running.then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    ),
    async stop() {
      if (loop.stopping) return;
      loop.beginStop(stopTimeoutMs);
      await running.catch(() => undefined);
      await loop.finish();
      for (const s of sinks) await s.close();
      log.info({ ...loop.stats }, 'audit writer stopped');
    },
  };
}

export { AuditWriterError };
export type { WriterStats };
