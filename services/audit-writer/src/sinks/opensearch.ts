import { Client } from '@opensearch-project/opensearch';
import { callClient, type SearchHttp } from './http-adapter.js';

/** Options of the OpenSearch client. */
export interface OpenSearchHttpOptions {
  /** One node, or several nodes of one cluster: requests are spread over them and a node that fails is skipped until it answers again. */
  url: string | readonly string[];
  username?: string | undefined;
  password?: string | undefined;
}

/** The OpenSearch transport of the search sink (@opensearch-project/opensearch). */
export function openSearchHttp(opts: OpenSearchHttpOptions): SearchHttp {
  const client = new Client({
    nodes: typeof opts.url === 'string' ? [opts.url] : [...opts.url],
    ...(opts.username !== undefined && opts.password !== undefined && { auth: { username: opts.username, password: opts.password } }),
    // The writer has its own backoff loop; a client retry would hide outages from it.
    maxRetries: 0,
    requestTimeout: 60_000,
  });
  return {
    request: (method, path, body, o) =>
      callClient(
        () =>
          client.transport.request({
            method,
            path,
            ...(o?.query && { querystring: o.query }),
            ...(o?.ndjson !== undefined ? { bulkBody: o.ndjson } : body !== undefined ? { body: body as Record<string, unknown> } : {}),
          }) as Promise<{ statusCode?: number | null; body: unknown }>,
        'OpenSearch',
      ),
    close: () => client.close(),
  };
}
