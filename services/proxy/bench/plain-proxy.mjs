// The floor of bench/latency.ts: a bare node reverse proxy (node:http server, undici Pool to the upstream, the
// body buffered and sent with its length), nothing else: no auth, policy, audit or masking. What node itself
// costs per proxied request on this machine, beside the gateway in the same run. argv[2]: the upstream origin;
// prints its port on stdout.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const pool = new Pool(process.argv[2], { connections: 64 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

const server = createServer(async (req, res) => {
  try {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    const up = await pool.request({ method: req.method, path: `/base${req.url.slice(4)}`, headers, body: null });
    const body = Buffer.from(await up.body.arrayBuffer());
    const out = {};
    for (const [k, v] of Object.entries(up.headers)) if (!HOP.has(k)) out[k] = v;
    out['content-length'] = String(body.length);
    res.writeHead(up.statusCode, out);
    res.end(body);
  } catch {
    res.statusCode = 502;
    res.end();
  }
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => pool.close().then(() => process.exit(0)));
});
