import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ChildCache } from './lib/child-cache.js';
import { withTimeout } from './lib/timeout.js';

/** A durable consumer whose backlog is reported (structurally the bus's `Consumer`). */
export interface WatchedConsumer {
  readonly stream: string;
  readonly name: string;
  pending(): Promise<{ pending: number; ackPending: number }>;
}

/** Added latency is sub-millisecond when all is well (quality bar: p50 ≤ 1 ms, p99 ≤ 5 ms): fine buckets there. */
const ADDED_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const UPSTREAM_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const PUBLISH_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5];
/** How long a scrape waits for one consumer's info before leaving its last value. */
const PENDING_TIMEOUT_MS = 1000;

/**
 * Every agentgate metric, on one registry (README: Metrics). Names follow
 * the Prometheus conventions: `agentgate_` prefix, base units (`_seconds`),
 * counters end in `_total`. Label values are bounded: connection names come
 * from the configuration, never from the request (an unknown connection is
 * counted as `-`), statuses are HTTP codes, types are detector names.
 */
export class AgentgateMetrics {
  readonly registry: Registry;

  /** Proxy requests by connection, decision and the status the client got. */
  readonly proxyRequests: Counter<'connection' | 'decision' | 'status'>;
  /** Gateway time of a forwarded request before it went upstream. */
  readonly proxyAddedLatency: Histogram<'connection'>;
  /** Upstream time to response headers. */
  readonly proxyUpstreamLatency: Histogram<'connection'>;
  readonly auditPublishLatency: Histogram<'stream'>;
  readonly auditPublishFailures: Counter<'stream' | 'code'>;
  readonly streamPending: Gauge<'stream' | 'consumer'>;
  readonly streamAckPending: Gauge<'stream' | 'consumer'>;
  readonly maskingFindings: Counter<'type' | 'where'>;
  readonly maskingEvents: Counter<'result'>;
  readonly writerIndexed: Counter<'sink'>;
  readonly writerFailed: Counter<'sink'>;
  readonly writerDeadLettered: Counter;
  readonly approvalsPending: Gauge;
  readonly approvalsDecided: Counter<'decision'>;
  readonly identityVerifications: Counter<'outcome'>;
  readonly identityJwksRefreshes: Counter<'issuer' | 'outcome'>;

  readonly #consumers = new Map<string, WatchedConsumer>();
  readonly #requests: ChildCache<Counter.Internal>;
  readonly #added: ChildCache<Histogram.Internal<'connection'>>;
  readonly #upstream: ChildCache<Histogram.Internal<'connection'>>;
  readonly #published: ChildCache<Histogram.Internal<'stream'>>;

  /** A fresh registry with the default Node.js process metrics (`process_*`, `nodejs_*`) and every agentgate metric. */
  constructor(opts: { defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.proxyRequests = new Counter({
      name: 'agentgate_proxy_requests_total',
      help: 'Requests the proxy answered, by connection, policy decision (allow, deny, review, none: refused before a decision) and HTTP status sent to the client',
      labelNames: ['connection', 'decision', 'status'],
      registers,
    });
    this.proxyAddedLatency = new Histogram({
      name: 'agentgate_proxy_added_latency_seconds',
      help: 'Time a forwarded request spent in the gateway before it went upstream (authenticate, classify, decide, lease, record the intent)',
      labelNames: ['connection'],
      buckets: ADDED_BUCKETS,
      registers,
    });
    this.proxyUpstreamLatency = new Histogram({
      name: 'agentgate_proxy_upstream_latency_seconds',
      help: 'Time from forwarding a request to the upstream response headers',
      labelNames: ['connection'],
      buckets: UPSTREAM_BUCKETS,
      registers,
    });
    this.auditPublishLatency = new Histogram({
      name: 'agentgate_audit_publish_seconds',
      help: 'Time to an acknowledged JetStream publish of one audit event, by stream',
      labelNames: ['stream'],
      buckets: PUBLISH_BUCKETS,
      registers,
    });
    this.auditPublishFailures = new Counter({
      name: 'agentgate_audit_publish_failures_total',
      help: 'Audit event publishes that were not acknowledged, by stream and error code',
      labelNames: ['stream', 'code'],
      registers,
    });
    const consumers = this.#consumers;
    const readPending = async (which: 'pending' | 'ackPending', gauge: Gauge<'stream' | 'consumer'>): Promise<void> => {
      await Promise.all(
        [...consumers.values()].map(async (c) => {
          try {
            const p = await withTimeout(c.pending(), PENDING_TIMEOUT_MS);
            gauge.set({ stream: c.stream, consumer: c.name }, p[which]);
          } catch {
            // An unreachable stream leaves the last value: a scrape never fails because the bus is slow.
          }
        }),
      );
    };
    this.streamPending = new Gauge({
      name: 'agentgate_stream_consumer_pending_messages',
      help: 'Messages of a stream its durable consumer has not been delivered yet (JetStream num_pending): the lag of that consumer',
      labelNames: ['stream', 'consumer'],
      registers,
      async collect() {
        await readPending('pending', this);
      },
    });
    this.streamAckPending = new Gauge({
      name: 'agentgate_stream_consumer_ack_pending_messages',
      help: 'Messages delivered to a durable consumer and not acknowledged yet (JetStream num_ack_pending)',
      labelNames: ['stream', 'consumer'],
      registers,
      async collect() {
        await readPending('ackPending', this);
      },
    });
    this.maskingFindings = new Counter({
      name: 'agentgate_masking_findings_total',
      help: 'Secrets masked, by detector type and where (event: the masking service; response: the proxy, in upstream responses)',
      labelNames: ['type', 'where'],
      registers,
    });
    this.maskingEvents = new Counter({
      name: 'agentgate_masking_events_total',
      help: 'Audit events the masking service handled, by result (clean, masked, failed)',
      labelNames: ['result'],
      registers,
    });
    this.writerIndexed = new Counter({
      name: 'agentgate_writer_indexed_total',
      help: 'Audit events the writer stored, by sink',
      labelNames: ['sink'],
      registers,
    });
    this.writerFailed = new Counter({
      name: 'agentgate_writer_failed_total',
      help: 'Audit events a sink refused or could not take (retried, or dead-lettered when the sink refuses them for good), by sink',
      labelNames: ['sink'],
      registers,
    });
    this.writerDeadLettered = new Counter({
      name: 'agentgate_writer_dead_lettered_total',
      help: 'Audit events the writer moved to the dead-letter stream',
      registers,
    });
    this.approvalsPending = new Gauge({ name: 'agentgate_approvals_pending', help: 'Actions held for approval by this process right now', registers });
    this.approvalsDecided = new Counter({
      name: 'agentgate_approvals_decided_total',
      help: 'Held actions decided, by decision (approved, rejected, expired, cancelled)',
      labelNames: ['decision'],
      registers,
    });
    this.identityVerifications = new Counter({
      name: 'agentgate_identity_verifications_total',
      help: 'CI token verifications, by outcome (verified, or the refusal code)',
      labelNames: ['outcome'],
      registers,
    });
    this.identityJwksRefreshes = new Counter({
      name: 'agentgate_identity_jwks_refreshes_total',
      help: 'JWKS fetches of an issuer (first load and refreshes), by issuer and outcome (ok, error)',
      labelNames: ['issuer', 'outcome'],
      registers,
    });
    this.#requests = new ChildCache((connection, decision, status) => this.proxyRequests.labels(connection, decision, status));
    this.#added = new ChildCache((connection) => this.proxyAddedLatency.labels(connection));
    this.#upstream = new ChildCache((connection) => this.proxyUpstreamLatency.labels(connection));
    this.#published = new ChildCache((stream) => this.auditPublishLatency.labels(stream));
  }

  /**
   * One proxy request answered. Label children are cached, so the hot path
   * does map look-ups and additions only. `addedNs`: the gateway's time
   * before forwarding, `upstreamNs`: the upstream's time to response
   * headers; both undefined when nothing was forwarded. The response body
   * streams through the gateway as it arrives, so its time is the
   * upstream's and the client's, not added latency.
   */
  requestDone(connection: string, decision: string, status: number, addedNs?: number, upstreamNs?: number): void {
    this.#requests.get(connection, decision, statusLabel(status)).inc();
    if (addedNs !== undefined) this.#added.get(connection).observe(addedNs / 1e9);
    if (upstreamNs !== undefined) this.#upstream.get(connection).observe(upstreamNs / 1e9);
  }

  /** One acknowledged audit publish. */
  published(stream: string, ns: number): void {
    this.#published.get(stream).observe(ns / 1e9);
  }

  /** Reports this consumer's backlog at every scrape (its `pending()` is asked then, not before). */
  watchConsumer(consumer: WatchedConsumer): void {
    this.#consumers.set(`${consumer.stream}\u0000${consumer.name}`, consumer);
  }

  /** Stops reporting a consumer (its service stopped). */
  unwatchConsumer(consumer: WatchedConsumer): void {
    this.#consumers.delete(`${consumer.stream}\u0000${consumer.name}`);
  }

  /** The Prometheus text exposition of everything on the registry. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

const STATUS_LABELS = new Map<number, string>();
/** Status codes as label strings, made once per code (status is a number on the hot path). */
function statusLabel(status: number): string {
  let s = STATUS_LABELS.get(status);
  if (s === undefined) {
    s = Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
    STATUS_LABELS.set(status, s);
  }
  return s;
}

let shared: AgentgateMetrics | undefined;

/**
 * The process's one set of metrics. Every service of a process (all five in
 * the one-process `agentgate start`) counts on it, and the process serves
 * it on one `/metrics` endpoint. Created at first use.
 */
export function processMetrics(): AgentgateMetrics {
  shared ??= new AgentgateMetrics();
  return shared;
}
