import type { AuditEvent } from '@agentgate/events';

/**
 * What the index said about one document of a bulk write:
 * - `created`: stored now; `exists`: a document with this id was already there (409), which the
 *   writer treats as confirmed because ids are event ids;
 * - `retry`: transient (429, 5xx, unreachable) — write again later, never ack;
 * - `rejected`: the index refuses the content (mapping error…) — dead-letter it.
 */
export type WriteOutcome =
  | { status: 'created' }
  | { status: 'exists' }
  | { status: 'retry'; reason: string }
  | { status: 'rejected'; reason: string };

/** A document to write: its id is the event id (or a filler id), its index name follows from its timestamp. */
export interface SinkDoc {
  id: string;
  doc: Record<string, unknown>;
  /** `@timestamp` of the document, which picks its daily index / file. */
  timestamp: string;
}

/** A signed checkpoint as stored beside the trail. */
export interface StoredCheckpoint {
  partition: string;
  seq: number;
  hash: string;
  count: number;
  time: string;
  /** Compact JWS over {partition, seq, hash, count, time}. */
  jws: string;
}

/** Options of a chain read. */
export interface ReadChainOptions {
  partition: string;
}

/** Options of a session trail read. */
export interface TrailQuery {
  sessionId?: string | undefined;
}

/**
 * One interface for the three sinks (OpenSearch, Elasticsearch, local append-only store).
 * `write` never throws for a per-document problem; it throws (ERR_SINK_UNAVAILABLE) only
 * when the whole request failed, which the writer retries like `retry` outcomes.
 */
export interface Sink {
  readonly kind: 'opensearch' | 'elasticsearch' | 'local';
  /** Templates / lifecycle policies / directories, idempotent. */
  setup(): Promise<void>;
  /** Creates documents with op_type create; one outcome per input, same order. */
  write(docs: SinkDoc[]): Promise<WriteOutcome[]>;
  /** The subset of `ids` already stored (`timestamps[i]` locates `ids[i]`). */
  existing(ids: string[], timestamps: string[]): Promise<Set<string>>;
  writeCheckpoint(cp: StoredCheckpoint): Promise<void>;
  readCheckpoints(partition: string): Promise<StoredCheckpoint[]>;
  /** Every stored document of a chain partition, in chain order (seq ascending), with its stored id. */
  readChain(opts: ReadChainOptions): AsyncIterable<{ id: string; doc: AuditEvent }>;
  /** Events (fillers excluded) of a session or all, by @timestamp then chain seq. */
  readTrail(q: TrailQuery): Promise<AuditEvent[]>;
  close(): Promise<void>;
}
