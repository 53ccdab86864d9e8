/**
 * Added latency and throughput of the proxy, with full durable audit on a
 * real nats-server, versus the same upstream direct (and nginx as a plain
 * reverse proxy when `nginx` is installed: `apt-get install -y nginx-light`).
 *
 *   npm run bench -w @agentgate/proxy            # defaults: 3000 sequential, 20000 at concurrency 32
 *   SEQ=5000 CONC=64 TOTAL=50000 npm run bench -w @agentgate/proxy
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { findBinary, freePort, githubClaims, startCiIssuer, startNats, waitFor } from '@agentgate/testkit';
import { Client } from 'undici';
import { startProxy } from '../src/index.js';
import { startUpstream } from '../test/upstream.js';
import { startBackends } from '../test/backends.js';

const SEQ = Number(process.env['SEQ'] ?? 3000);
const CONC = Number(process.env['CONC'] ?? 32);
const TOTAL = Number(process.env['TOTAL'] ?? 20000);

interface Target {
  name: string;
  origin: string;
  path: string;
  headers: Record<string, string>;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function once(client: Client, t: Target): Promise<void> {
  const r = await client.request({ method: 'GET', path: t.path, headers: t.headers });
  await r.body.dump();
  if (r.statusCode !== 200) throw new Error(`${t.name}: status ${r.statusCode}`);
}

async function sequential(t: Target, n: number): Promise<number[]> {
  const client = new Client(t.origin, { pipelining: 1 });
  for (let i = 0; i < 200; i++) await once(client, t);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await once(client, t);
    out.push(performance.now() - s);
  }
  await client.close();
  return out.sort((a, b) => a - b);
}

async function concurrent(t: Target, total: number, conc: number): Promise<number> {
  const clients = Array.from({ length: conc }, () => new Client(t.origin, { pipelining: 1 }));
  let left = total;
  const start = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (left-- > 0) await once(c, t);
    }),
  );
  const rps = total / ((performance.now() - start) / 1000);
  await Promise.all(clients.map((c) => c.close()));
  return rps;
}

async function startNginx(upstreamPort: number): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  const bin = findBinary('nginx');
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-nginx-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir};
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server { listen 127.0.0.1:${port};
    location /api/ { proxy_pass http://up/base/; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`,
  );
  const child: ChildProcess = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  await waitFor(
    async () => {
      try {
        const c = new Client(`http://127.0.0.1:${port}`);
        await once(c, { name: 'nginx', origin: '', path: '/api/ok', headers: {} });
        await c.close();
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 10_000 },
  );
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const nats = await startNats();
const upstream = await startUpstream();
const issuer = await startCiIssuer();
const config = loadConfig({
  env: {},
  text: `
gateway: { name: bench }
identity: { issuers: [ { name: gh, issuer: ${issuer.issuer}, audiences: [agentgate], profile: github-actions } ] }
connections: [ { name: api, type: http, upstream: ${upstream.url}/base, credential: { ref: tok, inject: bearer } } ]
secrets: [ { ref: tok, source: env, env: BENCH_TOKEN } ]
policy: { rules: [ { name: allow-get, actions: ['http.get'], when: "attrs.path.startsWith('/')", decision: allow } ] }
`,
});
const backends = await startBackends({ natsUrl: nats.url, name: 'proxy-bench' }, config, { BENCH_TOKEN: 'bench-secret-value-0123456789' });
const { bus } = backends;
const proxy = await startProxy(bus, config, createLogger({ name: 'proxy', level: 'warn' }), { host: '127.0.0.1', port: 0 });
const token = await issuer.mint(githubClaims(), { expiresIn: 3600 });
const nginx = await startNginx(upstream.port);

const targets: Target[] = [
  { name: 'direct', origin: upstream.url, path: '/base/ok', headers: {} },
  { name: 'agentgate', origin: proxy.url, path: '/api/ok', headers: { authorization: `Bearer ${token}` } },
  ...(nginx ? [{ name: 'nginx', origin: nginx.url, path: '/api/ok', headers: {} }] : []),
];

console.log(`nats-server ${nats.url} (JetStream file store); sequential ${SEQ} requests; concurrent ${TOTAL} requests at ${CONC}`);
const seq = new Map<string, number[]>();
const cpu = new Map<string, number>();
for (const t of targets) {
  const c0 = process.cpuUsage();
  seq.set(t.name, await sequential(t, SEQ));
  const c = process.cpuUsage(c0);
  // CPU of this process (client, upstream, proxy, identity, broker) per sequential request: what contention magnifies.
  cpu.set(t.name, (c.user + c.system) / 1000 / (SEQ + 200));
}
const rps = new Map<string, number>();
for (const t of targets) rps.set(t.name, await concurrent(t, TOTAL, CONC));

const d = seq.get('direct')!;
console.log('\ntarget      p50 ms   p99 ms   added p50   added p99   req/s (c=%d)   ratio vs direct   cpu ms/req (this process)', CONC);
for (const t of targets) {
  const s = seq.get(t.name)!;
  const r = rps.get(t.name)!;
  console.log(
    `${t.name.padEnd(10)} ${pct(s, 50).toFixed(3).padStart(7)} ${pct(s, 99).toFixed(3).padStart(8)} ${(pct(s, 50) - pct(d, 50)).toFixed(3).padStart(11)} ${(pct(s, 99) - pct(d, 99)).toFixed(3).padStart(11)} ${r.toFixed(0).padStart(14)} ${(r / rps.get('direct')!).toFixed(2).padStart(17)} ${cpu.get(t.name)!.toFixed(3).padStart(12)}`,
  );
}
if (nginx) console.log(`\nagentgate / nginx throughput ratio: ${(rps.get('agentgate')! / rps.get('nginx')!).toFixed(2)}`);
else console.log('\nnginx not installed (apt-get install -y nginx-light): no nginx baseline in this run');
const audit = await bus.streams.info('AUDIT_RAW');
console.log(`audit events stored durably during the run: ${audit.messages}`);
const load = (await import('node:os')).loadavg();
console.log(`machine load average during the run: ${load.map((l) => l.toFixed(1)).join(' ')} (${(await import('node:os')).cpus().length} cores)`);

await nginx?.stop();
await proxy.close();
await backends.stop();
await upstream.close();
await issuer.close();
await nats.close();
