/**
 * Kubernetes through the gateway versus the same kube-apiserver direct:
 * kubectl-like get/list latency (added p50/p99) and the throughput of a
 * 10,000-event watch stream (masked event by event on the gateway), with
 * full durable audit on a real nats-server. Needs the binaries of
 * `.ci/install-kube.sh`.
 *
 *   npm run bench:kube -w @agentgate/proxy            # defaults: 500 sequential per kind, 10000 watch events
 *   SEQ=1000 EVENTS=20000 npm run bench:kube -w @agentgate/proxy
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { githubClaims, startCiIssuer, startKube, startNats } from '@agentgate/testkit';
import { Client } from 'undici';
import { startProxy } from '../src/index.js';
import { startBackends } from '../test/backends.js';

const SEQ = Number(process.env['SEQ'] ?? 500);
const EVENTS = Number(process.env['EVENTS'] ?? 10_000);

interface Target {
  name: string;
  client: Client;
  prefix: string;
  headers: Record<string, string>;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function once(t: Target, path: string, accept: string): Promise<void> {
  const r = await t.client.request({ method: 'GET', path: `${t.prefix}${path}`, headers: { ...t.headers, accept } });
  await r.body.dump();
  if (r.statusCode !== 200) throw new Error(`${t.name} ${path}: status ${r.statusCode}`);
}

async function sequential(t: Target, path: string, accept: string, n: number): Promise<number[]> {
  for (let i = 0; i < 50; i++) await once(t, path, accept);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await once(t, path, accept);
    out.push(performance.now() - s);
  }
  return out.sort((a, b) => a - b);
}

/** Opens a watch that replays every object (resourceVersion=0) and counts events until `n` arrived. */
async function watchThroughput(t: Target, path: string, n: number): Promise<{ seconds: number; bytes: number }> {
  const abort = new AbortController();
  const start = performance.now();
  const r = await t.client.request({ method: 'GET', path: `${t.prefix}${path}`, headers: { ...t.headers, accept: 'application/json' }, signal: abort.signal });
  let events = 0;
  let bytes = 0;
  try {
    for await (const chunk of r.body) {
      bytes += (chunk as Buffer).length;
      for (const b of chunk as Buffer) if (b === 0x0a) events++;
      if (events >= n) break;
    }
  } finally {
    abort.abort();
  }
  if (events < n) throw new Error(`${t.name}: the watch ended after ${events} events`);
  return { seconds: (performance.now() - start) / 1000, bytes };
}

const gwToken = `gw_${randomBytes(18).toString('base64url')}`;
console.log('starting etcd + kube-apiserver …');
const kube = await startKube({ users: [{ name: 'agentgate-bench', groups: ['system:masters'], token: gwToken }] });
const ca = readFileSync(kube.caFile);
const nats = await startNats();
const issuer = await startCiIssuer();
const config = loadConfig({
  env: {},
  text: `
gateway: { name: bench-kube, limits: { requestTimeoutMs: 600000 } }
identity: { issuers: [ { name: gh, issuer: ${issuer.issuer}, audiences: [agentgate], profile: github-actions } ] }
connections:
  - { name: cluster, type: kubernetes, upstream: ${kube.url}, credential: { ref: kube, inject: bearer }, options: { caFile: ${kube.caFile} } }
secrets: [ { ref: kube, source: env, env: BENCH_KUBE_TOKEN } ]
policy: { rules: [ { name: kube, actions: ['kubernetes.*'], decision: allow } ] }
`,
});
const backends = await startBackends({ natsUrl: nats.url, name: 'proxy-bench-kube' }, config, { BENCH_KUBE_TOKEN: gwToken });
const proxy = await startProxy(backends.bus, config, createLogger({ name: 'proxy', level: 'warn' }), { host: '127.0.0.1', port: 0 });
const token = await issuer.mint(githubClaims(), { expiresIn: 3600 });

const direct: Target = {
  name: 'direct',
  client: new Client(kube.url, { connect: { ca } }),
  prefix: '',
  headers: { authorization: `Bearer ${kube.adminToken}` },
};
const gateway: Target = { name: 'agentgate', client: new Client(proxy.url), prefix: '/cluster', headers: { authorization: `Bearer ${token}` } };

// Fixtures: 20 deployments to get and list, EVENTS configmaps to replay in a watch.
const post = async (path: string, body: object): Promise<void> => {
  const r = await direct.client.request({
    method: 'POST',
    path,
    headers: { ...direct.headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await r.body.dump();
  if (r.statusCode !== 201) throw new Error(`POST ${path}: ${r.statusCode}`);
};
await post('/api/v1/namespaces', { metadata: { name: 'bench' } });
const deployment = (i: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: `web-${i}`, labels: { app: 'web' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: `web-${i}` } },
    template: { metadata: { labels: { app: `web-${i}` } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
  },
});
for (let i = 0; i < 20; i++) await post('/apis/apps/v1/namespaces/bench/deployments', deployment(i));
console.log(`creating ${EVENTS} configmaps for the watch …`);
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (next < EVENTS) {
      const i = next++;
      await post('/api/v1/namespaces/bench/configmaps', {
        metadata: { name: `cm-${i}` },
        data: { key: `value-${i}`, 'app.properties': `mode=bench\nindex=${i}\n` },
      });
    }
  }),
);
console.log(`… in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
const allCases = [
  { name: 'get deployment', path: '/apis/apps/v1/namespaces/bench/deployments/web-0', accept: 'application/json' },
  { name: 'list 20 deployments (Table)', path: '/apis/apps/v1/namespaces/bench/deployments?limit=500', accept: TABLE },
  { name: 'list 20 configmaps (masked)', path: '/api/v1/namespaces/bench/configmaps?limit=20', accept: 'application/json' },
];
// REVERSE=1 runs the cases in the opposite order (to tell an ordering effect from a per-case cost).
const cases = process.env['REVERSE'] === '1' ? [...allCases].reverse() : allCases;
console.log(`\nnats-server ${nats.url} (JetStream file store); ${SEQ} sequential requests per case\n`);
console.log('case                           direct p50   p99   | gateway p50   p99   | added p50   added p99   (ms)');
for (const c of cases) {
  const d = await sequential(direct, c.path, c.accept, SEQ);
  const g = await sequential(gateway, c.path, c.accept, SEQ);
  console.log(
    `${c.name.padEnd(30)} ${pct(d, 50).toFixed(2).padStart(8)} ${pct(d, 99).toFixed(2).padStart(6)}   ${pct(g, 50).toFixed(2).padStart(11)} ${pct(g, 99).toFixed(2).padStart(6)}   ${(pct(g, 50) - pct(d, 50)).toFixed(2).padStart(9)} ${(pct(g, 99) - pct(d, 99)).toFixed(2).padStart(11)}`,
  );
}

const watchPath = '/api/v1/namespaces/bench/configmaps?watch=true&resourceVersion=0&allowWatchBookmarks=false';
console.log(`\nwatch replaying ${EVENTS} ConfigMap events (each parsed, detector-masked and re-serialized on the gateway):`);
for (const t of [direct, gateway, direct, gateway]) {
  const w = await watchThroughput(t, watchPath, EVENTS);
  console.log(
    `  ${t.name.padEnd(10)} ${(EVENTS / w.seconds).toFixed(0).padStart(7)} events/s   ${(w.bytes / w.seconds / 1e6).toFixed(1).padStart(5)} MB/s   ${w.seconds.toFixed(2)} s`,
  );
}
const audit = await backends.bus.streams.info('AUDIT_RAW');
console.log(`\naudit events stored durably during the run: ${audit.messages}`);
console.log(
  `machine load average during the run: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (${cpus().length} cores)`,
);

await direct.client.close();
await gateway.client.close();
await proxy.close();
await backends.stop();
await issuer.close();
await nats.close();
await kube.close();
