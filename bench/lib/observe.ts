/**
 * What the bench reads from the servers while it runs: the audit streams' backlog from
 * nats-server's monitoring endpoint, and audit events from OpenSearch by trace id.
 */

/** Index pattern of the audit events (the writer's default `audit.indexPrefix`, daily indices). */
export const INDEX = 'agentgate-audit-*';

/** Backlog of one audit stream: messages stored (work queue: not yet acked) and its consumers' counts. */
export interface StreamBacklog {
  messages: number;
  /** Sum over the stream's consumers: not yet delivered. */
  pending: number;
  /** Sum over the stream's consumers: delivered, not yet acked. */
  ackPending: number;
}

interface Jsz {
  account_details?: Array<{
    stream_detail?: Array<{
      name: string;
      state?: { messages?: number };
      consumer_detail?: Array<{ name: string; num_pending?: number; num_ack_pending?: number }>;
    }>;
  }>;
}

/** AUDIT_RAW and AUDIT_CLEAN backlogs, from `/jsz` of the nats-server monitor. */
export async function streamBacklog(monitorUrl: string): Promise<Record<'AUDIT_RAW' | 'AUDIT_CLEAN', StreamBacklog>> {
  const r = await fetch(`${monitorUrl}/jsz?accounts=true&streams=true&consumers=true`);
  if (!r.ok) throw new Error(`nats-server /jsz answered ${r.status}`);
  const jsz = (await r.json()) as Jsz;
  const out = { AUDIT_RAW: { messages: 0, pending: 0, ackPending: 0 }, AUDIT_CLEAN: { messages: 0, pending: 0, ackPending: 0 } };
  for (const account of jsz.account_details ?? []) {
    for (const s of account.stream_detail ?? []) {
      if (s.name !== 'AUDIT_RAW' && s.name !== 'AUDIT_CLEAN') continue;
      const b = out[s.name];
      b.messages += s.state?.messages ?? 0;
      for (const c of s.consumer_detail ?? []) {
        b.pending += c.num_pending ?? 0;
        b.ackPending += c.num_ack_pending ?? 0;
      }
    }
  }
  return out;
}

async function search<T>(osUrl: string, body: unknown, path = `${INDEX}/_search`): Promise<T> {
  const r = await fetch(`${osUrl}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`OpenSearch ${path} answered ${r.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** Makes everything indexed so far searchable (the bench's checks; never during a measured step). */
export async function refresh(osUrl: string): Promise<void> {
  const r = await fetch(`${osUrl}/${INDEX}/_refresh`, { method: 'POST' });
  await r.text();
}

/** Which of `traceIds` have an event of `phase` searchable now. */
export async function searchable(osUrl: string, traceIds: string[], phase: string): Promise<Set<string>> {
  if (traceIds.length === 0) return new Set();
  const res = await search<{ hits: { hits: Array<{ fields?: Record<string, string[]> }> } }>(osUrl, {
    size: traceIds.length,
    _source: false,
    docvalue_fields: ['trace.id'],
    query: { bool: { filter: [{ terms: { 'trace.id': traceIds } }, { term: { 'agentgate.action.phase': phase } }] } },
  });
  return new Set(res.hits.hits.map((h) => h.fields?.['trace.id']?.[0] ?? ''));
}

/** Events per trace id and phase, for every trace id starting with `prefix` (composite aggregation, paged). */
export async function eventsByTrace(osUrl: string, prefix: string): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  let after: Record<string, string> | undefined;
  for (;;) {
    const res = await search<{
      aggregations?: { t: { after_key?: Record<string, string>; buckets: Array<{ key: { id: string; phase: string }; doc_count: number }> } };
    }>(osUrl, {
      size: 0,
      query: { prefix: { 'trace.id': prefix } },
      aggs: {
        t: {
          composite: {
            size: 10_000,
            sources: [{ id: { terms: { field: 'trace.id' } } }, { phase: { terms: { field: 'agentgate.action.phase' } } }],
            ...(after && { after }),
          },
        },
      },
    });
    const agg = res.aggregations?.t;
    if (!agg || agg.buckets.length === 0) return out;
    for (const b of agg.buckets) {
      const row = out.get(b.key.id) ?? {};
      row[b.key.phase] = (row[b.key.phase] ?? 0) + b.doc_count;
      out.set(b.key.id, row);
    }
    after = agg.after_key;
    if (!after) return out;
  }
}

/** Percentiles of `event.ingested − @timestamp` (ms) of the completed events whose trace id starts with `prefix`. */
export async function ingestLag(osUrl: string, prefix: string): Promise<{ p50: number; p99: number } | undefined> {
  const res = await search<{ aggregations?: { lag: { values: Record<string, number | null> } } }>(osUrl, {
    size: 0,
    query: {
      bool: { filter: [{ prefix: { 'trace.id': prefix } }, { term: { 'agentgate.action.phase': 'completed' } }, { exists: { field: 'event.ingested' } }] },
    },
    aggs: {
      lag: {
        percentiles: {
          script: { source: "doc['event.ingested'].value.toInstant().toEpochMilli() - doc['@timestamp'].value.toInstant().toEpochMilli()" },
          percents: [50, 99],
        },
      },
    },
  });
  const v = res.aggregations?.lag.values;
  const p50 = v?.['50.0'];
  const p99 = v?.['99.0'];
  return typeof p50 === 'number' && typeof p99 === 'number' ? { p50, p99 } : undefined;
}
