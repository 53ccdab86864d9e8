import { Client } from '@elastic/elasticsearch';
import { callClient, type SearchHttp } from './http-adapter.js';

/** Options of the Elasticsearch client. */
export interface ElasticsearchHttpOptions {
  /** One node, or several nodes of one cluster: requests are spread over them and a node that fails is skipped until it answers again. */
  url: string | readonly string[];
  apiKey?: string | undefined;
}

/** The Elasticsearch transport of the search sink (@elastic/elasticsearch 8/9 client). */
export function elasticsearchHttp(opts: ElasticsearchHttpOptions): SearchHttp {
  const client = new Client({
    nodes: typeof opts.url === 'string' ? [opts.url] : [...opts.url],
    ...(opts.apiKey !== undefined && { auth: { apiKey: opts.apiKey } }),
    // The writer has its own backoff loop; a client retry would hide outages from it.
    maxRetries: 0,
    requestTimeout: 60_000,
  });
  return {
    request: (method, path, body, o) =>
      callClient(async () => {
        const res = await client.transport.request(
          {
            method,
            path,
            ...(o?.query && { querystring: o.query }),
            ...(o?.ndjson !== undefined ? { bulkBody: o.ndjson } : body !== undefined ? { body: body as Record<string, unknown> } : {}),
          },
          { meta: true },
        );
        return { statusCode: res.statusCode, body: res.body };
      }, 'Elasticsearch'),
    close: () => client.close(),
  };
}
