import { type AuditEvent, upgradeEvent } from '@agentgate/events';
import { AuditWriterError } from '../errors.js';
import { isFiller } from '../lib/filler.js';
import { checkpointIndex, dailyIndex, indexPattern } from '../lib/index-names.js';
import { applySetup } from '../lib/setup.js';
import type { HttpResult, SearchHttp } from './http-adapter.js';
import { type ReadChainOptions, type Sink, type SinkDoc, type StoredCheckpoint, type TrailQuery, trailSearchQuery, type WriteOutcome } from './types.js';

interface BulkItem {
  status: number;
  error?: { type?: string; reason?: string; caused_by?: { reason?: string } };
}

interface Hit {
  _id: string;
  _source: Record<string, unknown>;
  sort?: unknown[];
}

const PAGE = 5000;

/**
 * Chain order over indices of both schema versions: version 2 keeps the
 * position in `event.sequence`, version 1 in `agentgate.chain.seq` (its
 * `event.sequence` is empty). Version 1 documents, missing the first key,
 * sort first, and they are the older part of any chain.
 */
function chainOrder(dir: string): unknown[] {
  return [
    { 'event.sequence': { order: dir, unmapped_type: 'long', missing: dir === 'asc' ? '_first' : '_last' } },
    { 'agentgate.chain.seq': { order: dir, unmapped_type: 'long' } },
  ];
}

/** Classifies one bulk item: 409 = already indexed, 429/5xx = retry, any other 4xx = content rejected. */
export function classifyItem(item: BulkItem): WriteOutcome {
  const s = item.status;
  if (s === 200 || s === 201) return { status: 'created' };
  if (s === 409) return { status: 'exists' };
  const reason = `${item.error?.type ?? 'error'}: ${item.error?.reason ?? ''}${item.error?.caused_by?.reason ? ` (${item.error.caused_by.reason})` : ''}`.slice(
    0,
    2000,
  );
  // A missing index (auto-create off) is an operator problem, not the event's: keep it and retry.
  if (s === 429 || s >= 500 || item.error?.type === 'index_not_found_exception') return { status: 'retry', reason: `${s} ${reason}` };
  return { status: 'rejected', reason: `${s} ${reason}` };
}

/**
 * The OpenSearch / Elasticsearch sink: bulk `create` into daily indices, `_mget` to find
 * already-indexed ids, search_after pages for reading back. The client is behind SearchHttp.
 */
export class SearchSink implements Sink {
  readonly kind: 'opensearch' | 'elasticsearch';
  #http: SearchHttp;
  #prefix: string;

  constructor(kind: 'opensearch' | 'elasticsearch', http: SearchHttp, prefix: string) {
    this.kind = kind;
    this.#http = http;
    this.#prefix = prefix;
  }

  get prefix(): string {
    return this.#prefix;
  }

  async setup(): Promise<void> {
    await applySetup(this.kind, this.#http, this.#prefix);
  }

  async write(docs: SinkDoc[]): Promise<WriteOutcome[]> {
    if (docs.length === 0) return [];
    let ndjson = '';
    for (const d of docs) {
      ndjson += `{"create":{"_index":${JSON.stringify(dailyIndex(this.#prefix, d.timestamp))},"_id":${JSON.stringify(d.id)}}}\n${JSON.stringify(d.doc)}\n`;
    }
    const res = await this.#http.request('POST', '/_bulk', undefined, { ndjson });
    if (res.status === 429 || res.status >= 500) return docs.map(() => ({ status: 'retry', reason: `bulk answered ${res.status}` }));
    if (res.status !== 200) {
      throw new AuditWriterError('ERR_SINK_UNAVAILABLE', `bulk answered ${res.status}`, { cause: res.body });
    }
    const items = (res.body as { items?: Array<Record<string, BulkItem>> }).items ?? [];
    return docs.map((_, i) => {
      const item = items[i]?.['create'];
      return item ? classifyItem(item) : { status: 'retry', reason: 'bulk response lacks this item' };
    });
  }

  async existing(ids: string[], timestamps: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    if (ids.length === 0) return found;
    const docs = ids.map((id, i) => ({ _index: dailyIndex(this.#prefix, timestamps[i]!), _id: id, _source: false }));
    const res = this.#ok(await this.#http.request('POST', '/_mget', { docs }), 'mget');
    for (const d of (res.body as { docs?: Array<{ _id: string; found?: boolean }> }).docs ?? []) if (d.found) found.add(d._id);
    return found;
  }

  async storedDocs(ids: string[], timestamps: string[]): Promise<Map<string, AuditEvent>> {
    const found = new Map<string, AuditEvent>();
    if (ids.length === 0) return found;
    const docs = ids.map((id, i) => ({ _index: dailyIndex(this.#prefix, timestamps[i]!), _id: id }));
    const res = this.#ok(await this.#http.request('POST', '/_mget', { docs }), 'mget');
    for (const d of (res.body as { docs?: Array<{ _id: string; found?: boolean; _source?: AuditEvent }> }).docs ?? []) {
      if (d.found && d._source) found.set(d._id, d._source);
    }
    return found;
  }

  async writeCheckpoint(cp: StoredCheckpoint): Promise<void> {
    const path = `/${checkpointIndex(this.#prefix)}/_create/${encodeURIComponent(`${cp.partition}-${cp.seq}`)}`;
    const res = await this.#http.request('PUT', path, cp);
    if (res.status !== 201 && res.status !== 200 && res.status !== 409) {
      throw new AuditWriterError('ERR_SINK_UNAVAILABLE', `checkpoint write answered ${res.status}`, { cause: res.body });
    }
  }

  async readCheckpoints(partition: string): Promise<StoredCheckpoint[]> {
    const out: StoredCheckpoint[] = [];
    for await (const h of this.#scan(checkpointIndex(this.#prefix), { term: { partition } }, [{ seq: 'asc' }]))
      out.push(h._source as unknown as StoredCheckpoint);
    return out;
  }

  async *readChain(opts: ReadChainOptions): AsyncIterable<{ id: string; doc: AuditEvent }> {
    const sort = [...chainOrder('asc'), { 'event.id': 'asc' }];
    for await (const h of this.#scan(indexPattern(this.#prefix), { term: { 'agentgate.chain.partition': opts.partition } }, sort)) {
      yield { id: h._id, doc: h._source as unknown as AuditEvent };
    }
  }

  async readTrail(q: TrailQuery): Promise<AuditEvent[]> {
    const query = trailSearchQuery(q);
    const dir = q.limit !== undefined ? 'desc' : 'asc';
    const sort = [{ '@timestamp': dir }, ...chainOrder(dir), { 'event.id': dir }];
    const out: AuditEvent[] = [];
    for await (const h of this.#scan(indexPattern(this.#prefix), query, sort)) {
      if (!isFiller(h._source)) out.push(upgradeEvent(h._source) as AuditEvent);
      // A search wants the newest few: stop paging once there are enough.
      if (q.limit !== undefined && out.length >= q.limit) break;
    }
    return out;
  }

  async partitions(): Promise<string[]> {
    await this.#refresh(indexPattern(this.#prefix));
    const names = new Set<string>();
    for (const index of [indexPattern(this.#prefix), checkpointIndex(this.#prefix)]) {
      const field = index === indexPattern(this.#prefix) ? 'agentgate.chain.partition' : 'partition';
      let after: unknown;
      for (;;) {
        const body = {
          size: 0,
          aggs: { p: { composite: { size: 1000, sources: [{ name: { terms: { field } } }], ...(after !== undefined && { after }) } } },
        };
        const res = await this.#http.request('POST', `/${index}/_search`, body, { query: { allow_no_indices: 'true', ignore_unavailable: 'true' } });
        if (res.status === 404) break;
        const agg = (this.#ok(res, 'search').body as { aggregations?: { p?: { after_key?: unknown; buckets?: Array<{ key: { name: string } }> } } })
          .aggregations?.p;
        for (const b of agg?.buckets ?? []) names.add(String(b.key.name));
        if (!agg?.after_key || (agg.buckets ?? []).length === 0) break;
        after = agg.after_key;
      }
    }
    return [...names];
  }

  async countDocuments(): Promise<number> {
    const index = indexPattern(this.#prefix);
    await this.#refresh(index);
    const res = await this.#http.request(
      'POST',
      `/${index}/_count`,
      { query: { match_all: {} } },
      { query: { allow_no_indices: 'true', ignore_unavailable: 'true' } },
    );
    if (res.status === 404) return 0;
    const count = (this.#ok(res, 'count').body as { count?: unknown }).count;
    if (typeof count !== 'number') throw new AuditWriterError('ERR_SINK_READ', 'count answered without a count');
    return count;
  }

  /** Makes what was written searchable (readers must see it); a failure is ignored (the read that follows reports it). */
  async #refresh(index: string): Promise<void> {
    await this.#http
      .request('POST', `/${index}/_refresh`, undefined, { query: { allow_no_indices: 'true', ignore_unavailable: 'true' } })
      .catch(() => undefined);
  }

  /** Pages through every hit with search_after (the sort must end with a unique key). */
  async *#scan(index: string, query: unknown, sort: unknown[]): AsyncIterable<Hit> {
    // Readers (verify, trail) must see what was just written.
    await this.#refresh(index);
    let after: unknown[] | undefined;
    for (;;) {
      const body = { size: PAGE, query, sort, track_total_hits: false, ...(after && { search_after: after }) };
      const res = await this.#http.request('POST', `/${index}/_search`, body, { query: { allow_no_indices: 'true', ignore_unavailable: 'true' } });
      if (res.status === 404) return;
      const hits = (this.#ok(res, 'search').body as { hits?: { hits?: Hit[] } }).hits?.hits ?? [];
      for (const h of hits) yield h;
      if (hits.length < PAGE) return;
      after = hits[hits.length - 1]!.sort;
    }
  }

  #ok(res: HttpResult, what: string): HttpResult {
    if (res.status >= 200 && res.status < 300) return res;
    throw new AuditWriterError(res.status === 429 || res.status >= 500 ? 'ERR_SINK_UNAVAILABLE' : 'ERR_SINK_READ', `${what} answered ${res.status}`, {
      cause: res.body,
    });
  }

  async close(): Promise<void> {
    await this.#http.close();
  }
}
