import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Test-only: makes an OpenSearch node look like Elasticsearch 8 to the official client.
 * Adds `x-elastic-product: Elasticsearch`, rewrites the client's
 * `application/vnd.elasticsearch+json; compatible-with=8` media types to plain JSON,
 * reports version 8.15.0 on `GET /`, acknowledges ILM policy PUTs without applying them, and
 * translates the template's `flattened` fields to `flat_object` and drops its lifecycle setting. It proves the client, its bulk/mget/search
 * calls and our ES code path; it does not prove Elasticsearch's own behaviour.
 */
export async function startEsShim(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const t = new URL(target);
  const server: Server = createServer((req, res) => {
    const headers = { ...req.headers };
    for (const h of ['content-type', 'accept'] as const) {
      const v = headers[h];
      if (typeof v === 'string')
        headers[h] = v.replace(/application\/vnd\.elasticsearch\+(json|x-ndjson);\s*compatible-with=\d+/g, (_m, kind: string) =>
          kind === 'json' ? 'application/json' : 'application/x-ndjson',
        );
    }
    headers.host = t.host;
    // OpenSearch has no ILM: acknowledge the policy as Elasticsearch would (the policy file is NOT exercised).
    if (req.method === 'PUT' && req.url?.startsWith('/_ilm/policy/')) {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      res.end('{"acknowledged":true}');
      return;
    }
    if (req.method === 'PUT' && req.url?.startsWith('/_index_template/')) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        // Translate the ES-only parts of the template: flattened → flat_object, no lifecycle setting.
        const text = Buffer.concat(chunks)
          .toString()
          .replace(/\{"type":"flattened","ignore_above":\d+\}/g, '{"type":"flat_object"}')
          .replace(/,"lifecycle":\{"name":"[^"]*"\}/g, '');
        delete headers['content-length'];
        const up = request(
          { host: t.hostname, port: t.port, method: 'PUT', path: req.url, headers: { ...headers, 'content-length': String(Buffer.byteLength(text)) } },
          (ur) => {
            res.writeHead(ur.statusCode ?? 502, { ...ur.headers, 'x-elastic-product': 'Elasticsearch' });
            ur.pipe(res);
          },
        );
        up.end(text);
      });
      return;
    }
    const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers }, (ur) => {
      const out = { ...ur.headers, 'x-elastic-product': 'Elasticsearch' };
      if (req.method === 'GET' && (req.url === '/' || req.url === '')) {
        const chunks: Buffer[] = [];
        ur.on('data', (c: Buffer) => chunks.push(c));
        ur.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { version: Record<string, unknown> };
          body.version = { ...body.version, number: '8.15.0', build_flavor: 'default' };
          const text = JSON.stringify(body);
          delete out['content-length'];
          res.writeHead(ur.statusCode ?? 502, out);
          res.end(text);
        });
        return;
      }
      res.writeHead(ur.statusCode ?? 502, out);
      ur.pipe(res);
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
