// The upstream of bench/latency.ts, in its own process: a small JSON answer to any request (the shape of
// test/upstream.ts's default route). Prints its port on stdout.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  const body = JSON.stringify({ ok: true, method: req.method, url: req.url, bodyBytes: 0 });
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
