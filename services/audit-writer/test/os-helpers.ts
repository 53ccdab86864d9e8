/* biome-ignore-all lint/suspicious/noExplicitAny: test REST helper returns raw JSON */
/** Small REST helpers against the test OpenSearch node (plain fetch: what a tamperer would use). */
export async function osReq(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * Documents in the daily indices of `prefix`, after a refresh. A refresh or count that did not
 * reach every shard (a node still recovering) throws rather than answering a partial count.
 */
export async function countDocs(url: string, prefix: string): Promise<number> {
  const refreshed = await osReq(url, 'POST', `/${prefix}-*/_refresh?allow_no_indices=true`);
  if (refreshed.status !== 200 || refreshed.body?._shards?.failed)
    throw new Error(`refresh of ${prefix}-*: ${refreshed.status} ${JSON.stringify(refreshed.body)}`);
  const r = await osReq(url, 'GET', `/${prefix}-*/_count?allow_no_indices=true`);
  if (r.status !== 200 || r.body?._shards?.failed) throw new Error(`count of ${prefix}-*: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body?.count ?? 0;
}

/** Event ids stored more than once across all daily indices. */
export async function duplicateIds(url: string, prefix: string): Promise<number> {
  const r = await osReq(url, 'POST', `/${prefix}-*/_search`, {
    size: 0,
    aggs: { dup: { terms: { field: 'event.id', min_doc_count: 2, size: 100 } } },
  });
  return r.body.aggregations.dup.buckets.length;
}

export async function docAtSeq(url: string, prefix: string, seq: number): Promise<{ index: string; id: string; source: any }> {
  const r = await osReq(url, 'POST', `/${prefix}-*/_search`, { query: { term: { 'event.sequence': seq } } });
  const h = r.body.hits.hits[0];
  return { index: h._index, id: h._id, source: h._source };
}
