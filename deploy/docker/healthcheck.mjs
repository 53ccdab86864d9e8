// Container health check for every agentgate command (the image's HEALTHCHECK, the compose
// file's health checks, the Helm chart's exec probes). Node built-ins only; no curl or wget
// in the image. It finds what this container runs from the command lines under /proc:
//   proxy, or `agentgate start`   GET /_agentgate/readyz (`live`: /_agentgate/healthz) on PORT (default 8080)
//   another service (NATS)        an established TCP connection from this container to the NATS port of
//                                 NATS_URL (the client reconnects on its own; no connection = not ready)
//   `agentgate demo serve …`      GET /healthz on its --port
//   anything else                 healthy while it runs (one-shot jobs)
// usage: node deploy/docker/healthcheck.mjs [ready|live]; exit 0 healthy, 1 not (one line on stderr says why).
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';

const mode = process.argv[2] === 'live' ? 'live' : 'ready';

/** Command lines of the other processes of this container. */
function commandLines() {
  const out = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      out.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

function httpOk(port, path) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 4000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? '' : `${path} answered ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve(`${path}: ${err.message}`));
    req.end();
  });
}

/** Ports of established TCP connections of this network namespace (/proc/net/tcp{,6}: hex port, state 01). */
function establishedRemotePorts() {
  const ports = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3 && f[3] === '01') ports.add(Number.parseInt(f[2].split(':')[1], 16));
    }
  }
  return ports;
}

function natsPorts() {
  const urls = (process.env.NATS_URL ?? '').split(',').filter(Boolean);
  return urls.map((u) => {
    try {
      const url = new URL(u.includes('://') ? u : `nats://${u}`);
      return Number(url.port || (url.protocol === 'ws:' ? 80 : url.protocol === 'wss:' ? 443 : 4222));
    } catch {
      return 4222;
    }
  });
}

async function check() {
  const cmds = commandLines().filter((c) => c.some((a) => /node$/.test(a)));
  const args = cmds.find((c) => c.some((a) => /services\/[a-z-]+\/dist\/main\.js$|bin\.js$/.test(a)));
  if (!args) return cmds.length > 0 ? '' : 'no node process runs in this container';
  const port = Number(process.env.PORT || 8080);
  if (args.some((a) => a.endsWith('services/proxy/dist/main.js')) || (args.some((a) => a.endsWith('bin.js')) && args.includes('start'))) {
    return httpOk(port, mode === 'live' ? '/_agentgate/healthz' : '/_agentgate/readyz');
  }
  if (args.includes('demo') && args.includes('serve')) {
    const p = args[args.indexOf('--port') + 1];
    return p && args.includes('--port') ? httpOk(Number(p), '/healthz') : '';
  }
  if (args.some((a) => /services\/[a-z-]+\/dist\/main\.js$/.test(a))) {
    if (mode === 'live') return '';
    const want = natsPorts();
    if (want.length === 0) return '';
    const have = establishedRemotePorts();
    return want.some((p) => have.has(p)) ? '' : `no connection to NATS (port ${want.join(', ')})`;
  }
  return '';
}

const why = await check();
if (why) process.stderr.write(`unhealthy: ${why}\n`);
process.exit(why ? 1 : 0);
