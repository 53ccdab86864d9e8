import type { AuditEvent } from '@agentgate/events';

/**
 * What the index said about one document of a bulk write:
 * - `created`: stored now; `exists`: a document with this id was already there (409), which the
 *   writer treats as confirmed because ids are event ids;
 * - `retry`: transient (429, 5xx, unreachable) — write again later, never ack;
 * - `rejected`: the index refuses the content (mapping error…) — dead-letter it.
 */
export type WriteOutcome = { status: 'created' } | { status: 'exists' } | { status: 'retry'; reason: string } | { status: 'rejected'; reason: string };

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

/** Options of a trail read: one session, or a search (every given filter must match). */
export interface TrailQuery {
  sessionId?: string | undefined;
  /** `agentgate.principal.ci.repository`, exact. */
  repository?: string | undefined;
  /** `user.id` (the token subject), exact. */
  subject?: string | undefined;
  /** `rule.name`, exact. */
  rule?: string | undefined;
  /** A decision effect (`allow`, `deny`, `review`) or an action phase (`denied`, `held`, `approved`, …). */
  decision?: string | undefined;
  /** ISO times bounding `@timestamp` (inclusive). */
  from?: string | undefined;
  to?: string | undefined;
  /** Newest events first, at most this many (a search); without it every match, oldest first. */
  limit?: number | undefined;
}

const EFFECTS = new Set(['allow', 'deny', 'review']);

/** Whether an event matches the query's filters (the local store's search; the index gets the same as a bool query). */
export function matchesTrailQuery(e: AuditEvent, q: TrailQuery): boolean {
  const a = e.agentgate;
  if (q.sessionId !== undefined && a?.session?.id !== q.sessionId) return false;
  if (q.repository !== undefined && a?.principal?.ci?.repository !== q.repository) return false;
  if (q.subject !== undefined && e.user?.id !== q.subject) return false;
  if (q.rule !== undefined && e.rule?.name !== q.rule) return false;
  if (q.decision !== undefined && (EFFECTS.has(q.decision) ? a?.decision?.effect : a?.action?.phase) !== q.decision) return false;
  const t = Date.parse(e['@timestamp']);
  if (q.from !== undefined && t < Date.parse(q.from)) return false;
  if (q.to !== undefined && t > Date.parse(q.to)) return false;
  return true;
}

/** The OpenSearch / Elasticsearch query of a trail read. */
export function trailSearchQuery(q: TrailQuery): Record<string, unknown> {
  const filter: unknown[] = [];
  const term = (field: string, value: string | undefined) => value !== undefined && filter.push({ term: { [field]: value } });
  // Indices of schema version 1 (before issue 20) keep these under agentgate.*: either place matches.
  const either = (field: string, v1Field: string, value: string | undefined) =>
    value !== undefined && filter.push({ bool: { should: [{ term: { [field]: value } }, { term: { [v1Field]: value } }], minimum_should_match: 1 } });
  term('agentgate.session.id', q.sessionId);
  term('agentgate.principal.ci.repository', q.repository);
  either('user.id', 'agentgate.principal.subject', q.subject);
  either('rule.name', 'agentgate.decision.rule', q.rule);
  if (q.decision !== undefined) term(EFFECTS.has(q.decision) ? 'agentgate.decision.effect' : 'agentgate.action.phase', q.decision);
  if (q.from !== undefined || q.to !== undefined) filter.push({ range: { '@timestamp': { ...(q.from && { gte: q.from }), ...(q.to && { lte: q.to }) } } });
  return filter.length === 0 ? { match_all: {} } : { bool: { filter } };
}

/**
 * One interface for the three sinks (OpenSearch, Elasticsearch, local append-only store).
 * `write` never throws for a per-document problem; it throws (ERR_SINK_UNAVAILABLE) only
 * when the whole request failed, which the writer retries like `retry` outcomes.
 */
export interface Sink {
  readonly kind: 'opensearch' | 'elasticsearch' | 'local' | 'ocsf';
  /** Templates / lifecycle policies / directories, idempotent. */
  setup(): Promise<void>;
  /** Creates documents with op_type create; one outcome per input, same order. */
  write(docs: SinkDoc[]): Promise<WriteOutcome[]>;
  /** The subset of `ids` already stored (`timestamps[i]` locates `ids[i]`). */
  existing(ids: string[], timestamps: string[]): Promise<Set<string>>;
  /**
   * The stored documents of `ids` (those found), to tell which chain slot holds each. Absent for a
   * sink that keeps no chain (the OCSF export): the writer then takes an existing document as its own.
   */
  storedDocs?(ids: string[], timestamps: string[]): Promise<Map<string, AuditEvent>>;
  writeCheckpoint(cp: StoredCheckpoint): Promise<void>;
  readCheckpoints(partition: string): Promise<StoredCheckpoint[]>;
  /** Every stored document of a chain partition, in chain order (seq ascending), with its stored id. */
  readChain(opts: ReadChainOptions): AsyncIterable<{ id: string; doc: AuditEvent }>;
  /** Events (fillers excluded) of a session or all, by @timestamp then chain seq. */
  readTrail(q: TrailQuery): Promise<AuditEvent[]>;
  /** Chain partitions named by the stored documents or stored checkpoints (none for a sink that keeps no chain). */
  partitions(): Promise<string[]>;
  /** Every stored document, fillers included (undefined for a sink that keeps no chain). */
  countDocuments(): Promise<number | undefined>;
  close(): Promise<void>;
}
