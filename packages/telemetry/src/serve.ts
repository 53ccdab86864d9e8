import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What a scrape reads: a prom-client `Registry` is one; so is the cluster
 * aggregate of several processes (`clusterMetricsSource`).
 */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** The path Prometheus scrapes. */
export const METRICS_PATH = '/metrics';

/** A running `/metrics` endpoint. */
export interface MetricsServer {
  /** `http://host:port/metrics` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Answers a scrape: `GET|HEAD /metrics` → the registry in the Prometheus
 * text format. Anything else is 404/405; a failing collector is 500 with
 * no detail (the cause stays in the process, never in a response).
 */
export async function handleMetrics(registry: MetricsSource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  if (path !== METRICS_PATH) return plain(res, 404, 'not found\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
  let text: string;
  try {
    text = await registry.metrics();
  } catch {
    return plain(res, 500, 'metrics could not be collected\n');
  }
  res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : text);
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

/**
 * Serves `/metrics` on its own listener (`telemetry.metrics.listen`), apart
 * from the data path: scrapers reach it on an internal address, clients of
 * the gateway never do. Port 0 picks a free port (tests).
 */
export async function serveMetrics(registry: MetricsSource, listen: { host: string; port: number }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    handleMetrics(registry, req, res).catch(() => res.destroy());
  });
  // A scrape is short; a client holding the socket gets nothing for it.
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}${METRICS_PATH}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
