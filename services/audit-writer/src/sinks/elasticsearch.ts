import { Client } from '@elastic/elasticsearch';
import { callClient, type SearchHttp } from './http-adapter.js';

/** Options of the Elasticsearch client. */
export interface ElasticsearchHttpOptions {
  url: string;
  apiKey?: string | undefined;
}

/** The Elasticsearch transport of the search sink (@elastic/elasticsearch 8/9 client). */
export function elasticsearchHttp(opts: ElasticsearchHttpOptions): SearchHttp {
  const client = new Client({
    node: opts.url,
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
