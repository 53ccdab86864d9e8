/**
 * The upstream of the bench: a tiny HTTP server in a process of its own (so its CPU is
 * measured apart), answering every request with a small JSON body. Started by pipeline.ts
 * with fork(); it sends `{ port }` once it listens and exits when its parent goes.
 */
import { createServer } from 'node:http';

const BODY = Buffer.from(JSON.stringify({ ok: true, items: [{ id: 1, name: 'build', state: 'passed' }], note: 'a small upstream answer' }));

const server = createServer((req, res) => {
  // Request bodies are not expected; drain anything sent so the connection stays reusable.
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
  res.end(BODY);
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 });
});
process.on('disconnect', () => process.exit(0));
