import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/** One request as the upstream saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
  /** SHA-256 (hex) of the body bytes received. */
  bodySha256: string;
  /** The first 4 KiB of the body, as received. */
  bodyHead: Buffer;
}

export interface Upstream {
  readonly url: string;
  readonly port: number;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A real local HTTP service that misbehaves on purpose: it echoes the
 * Authorization header it received in bodies, headers, redirects, chunked
 * and gzip responses, and streams large bodies on demand.
 */
export async function startUpstream(): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    let bodyBytes = 0;
    const hash = createHash('sha256');
    let bodyHead = Buffer.alloc(0);
    for await (const chunk of req) {
      bodyBytes += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
      if (bodyHead.length < 4096) bodyHead = Buffer.concat([bodyHead, (chunk as Buffer).subarray(0, 4096 - bodyHead.length)]);
    }
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes, bodySha256: hash.digest('hex'), bodyHead });
    const auth = req.headers.authorization ?? '';
    const bare = auth.replace(/^(Bearer|Basic) /, '');
    const url = new URL(req.url ?? '/', 'http://x');
    const route = url.pathname.replace(/^\/base/, '');
    if (route === '/echo') {
      const body = JSON.stringify({ method: req.method, path: url.pathname, auth, headers: req.headers, bodyBytes });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else if (route === '/echo-header') {
      res.writeHead(200, { 'x-echo': auth, 'x-token': bare, 'set-cookie': [`s=${bare}`], 'content-type': 'text/plain' });
      res.end('ok');
    } else if (route === '/redirect') {
      res.writeHead(302, { location: `https://example.test/cb?token=${encodeURIComponent(bare)}&raw=${bare}` });
      res.end(`redirecting with ${auth}`);
    } else if (route === '/chunked') {
      // The credential split across many chunks: masking must hold back across chunk boundaries.
      const text = `start ${auth} mid ${encodeURIComponent(bare)} b64 ${Buffer.from(bare).toString('base64')} end`;
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < text.length; i += 3) {
        res.write(text.slice(i, i + 3));
        await wait(1);
      }
      res.end();
    } else if (route === '/gzip') {
      const body = gzipSync(Buffer.from(JSON.stringify({ auth, again: bare, pad: 'x'.repeat(5000) })));
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length });
      res.end(body);
    } else if (route === '/zstd') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'zstd' });
      res.end('not really zstd');
    } else if (route === '/big') {
      const total = Number(url.searchParams.get('mb') ?? '1') * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789\n');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          const n = Math.min(chunk.length, total - sent);
          sent += n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    } else if (route === '/slow') {
      await wait(Number(url.searchParams.get('ms') ?? '2000'));
      res.end('late');
    } else if (route === '/status') {
      res.writeHead(Number(url.searchParams.get('code') ?? '200'), { 'content-type': 'text/plain' });
      res.end(`status with ${auth}`);
    } else {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive, x-hop', 'x-hop': 'secret-hop', 'keep-alive': 'timeout=5' });
      res.end(JSON.stringify({ ok: true, method: req.method, url: req.url, bodyBytes }));
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
