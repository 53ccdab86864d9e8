import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import {
  CHAIN_BUCKET,
  createSink,
  formatVerifyAllReport,
  indexPattern,
  publicKeyPath,
  readPublicKey,
  type VerifyReport,
  verifyAllPartitions,
  verifyTrail,
} from '@agentgate/audit-writer';
import { type Bus, createBus } from '@agentgate/bus';
import type { Config } from '@agentgate/config';
import { STREAMS } from '@agentgate/events';
import {
  type CiIssuer,
  githubClaims,
  type NatsCluster,
  type OpenSearchCluster,
  startCiIssuer,
  startNatsCluster,
  startOpenSearchCluster,
  type TempDir,
  tempDir,
} from '@agentgate/testkit';
import { type Instance, type Sent, sendOne, startEchoUpstream, startInstance } from './cluster-harness.js';

// The pipeline scaled out on a 3-node JetStream cluster (R3 streams and KV) and a 2-node OpenSearch cluster:
// 2 proxies, 2 masking services, writers for 2 chain partitions sharing the durable consumer, one identity and
// one secret broker, each with its own NATS connection. Load goes through both proxies while one NATS node and
// later one OpenSearch node are killed and restarted.

const CONCURRENCY = 8;
const MARKER = /mk\d{5}x[0-9a-f]{8}/;
const PARTITIONS = ['writer-0', 'writer-1'];
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let nats: NatsCluster | undefined;
let os: OpenSearchCluster | undefined;
let issuer: CiIssuer | undefined;
let upstream: Awaited<ReturnType<typeof startEchoUpstream>> | undefined;
let dir: TempDir | undefined;
let bus: Bus | undefined;
const instances: Instance[] = [];
/** What the load test leaves for the verify test. */
let drained: { docs: number; fillers: number; sink: Config['audit']['sinks'][number]; indexPrefix: string; keyPath: string } | undefined;

/** Requests in flight against both proxies until stopped; `sent` grows as they finish. */
class Load {
  readonly sent: Sent[] = [];
  #next = 0;
  #stop = false;
  #workers: Promise<void>[] = [];
  readonly #salt = randomBytes(4).toString('hex');

  constructor(
    private readonly proxies: string[],
    private readonly token: string,
  ) {}

  start(): void {
    this.#stop = false;
    for (let w = 0; w < CONCURRENCY; w++) {
      this.#workers.push(
        (async () => {
          while (!this.#stop) {
            const i = this.#next++;
            const p = i % this.proxies.length;
            this.sent.push(await sendOne(this.proxies[p]!, p, `mk${String(i).padStart(5, '0')}x${this.#salt}`, this.token));
          }
        })(),
      );
    }
  }

  /** Waits until `n` more requests finished, and at least `minMs` passed. */
  async more(n: number, minMs = 0): Promise<void> {
    const target = this.sent.length + n;
    const until = Date.now() + minMs;
    while (this.sent.length < target || Date.now() < until) await sleep(20);
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#workers);
    this.#workers = [];
  }
}

interface Doc {
  id: string;
  phase: string;
  marker: string | undefined;
}

async function searchDocs(url: string): Promise<Doc[]> {
  const pattern = indexPattern('agentgate-audit');
  await fetch(`${url}/${pattern}/_refresh`, { method: 'POST' });
  const res = await fetch(`${url}/${pattern}/_search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ size: 10_000, query: { match_all: {} }, _source: ['event.id', 'agentgate.action.phase', 'url'] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { hits: { total: { value: number }; hits: Array<{ _id: string; _source: Record<string, unknown> }> } };
  assert.ok(body.hits.total.value < 10_000, 'the search saw every document');
  return body.hits.hits.map((h) => {
    const src = h._source as { agentgate?: { action?: { phase?: string } }; url?: unknown };
    return { id: h._id, phase: src.agentgate?.action?.phase ?? '?', marker: MARKER.exec(JSON.stringify(src.url ?? ''))?.[0] };
  });
}

function byMarker(docs: Doc[]): Map<string, Doc[]> {
  const m = new Map<string, Doc[]>();
  for (const d of docs) if (d.marker) m.set(d.marker, [...(m.get(d.marker) ?? []), d]);
  return m;
}

const ok = (s: Sent) => s.status >= 200 && s.status < 300;

before(async () => {
  dir = tempDir('cluster-e2e');
  // C1 only and the serial GC: the two JVMs start in about half the time on a busy 2-core machine.
  [nats, os, issuer, upstream] = await Promise.all([
    startNatsCluster({ nodes: 3 }),
    startOpenSearchCluster({ nodes: 2, heap: '640m', jvmArgs: ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'] }),
    startCiIssuer({ alg: 'RS256' }),
    startEchoUpstream(),
  ]);
  await nats.waitHealthy();
  console.log(`# NATS and OpenSearch clusters up at ${elapsed()}`);
});

after(async () => {
  for (const i of [...instances].reverse()) await i.gateway.stop().catch(() => {});
  await bus?.close().catch(() => {});
  await upstream?.close();
  await issuer?.close();
  await nats?.close();
  await os?.close();
  dir?.cleanup();
  console.log(`# cluster test total ${elapsed()}`);
});

test('cluster - 2 proxies, 2 masking services, 2 writer partitions on a 3-node NATS cluster (R3) and 2-node OpenSearch: a node of each killed and restarted under load; every 2xx recorded exactly once, no event lost or duplicated, refusals fail closed', async () => {
  assert.ok(nats && os && issuer && upstream && dir);
  // Every service is told one NATS seed URL; the others come from the cluster's gossip (the killed node may be the seed).
  // The writers are given both OpenSearch nodes: while one is down the client sends to the other.
  const base = {
    natsUrl: nats.urls[0]!,
    opensearchUrls: [...os.urls],
    issuer: issuer.issuer,
    upstream: upstream.url,
    keyPath: join(dir.path, 'checkpoint-key.json'),
    // A shorter ack wait makes a stalled batch come back to the other writer sooner (see README: scaling out).
    ...(process.env.AGENTGATE_CLUSTER_ACK_WAIT_MS ? { ackWaitMs: Number(process.env.AGENTGATE_CLUSTER_ACK_WAIT_MS) } : {}),
  };
  // Consumers first, the proxies (which take traffic) last; each group starts in parallel. The first masking service
  // creates the R3 streams (a raft group each: seconds on a busy machine); the rest find them. writer-0 generates the
  // checkpoint signing key both writers use, so writer-1 starts after it.
  const start = (group: Array<[string, string, string?]>) =>
    Promise.all(group.map(([name, only, partition]) => startInstance(name, only, { ...base, ...(partition ? { partition } : {}) }, dir!.path)));
  instances.push(
    ...(await start([
      ['identity', 'identity'],
      ['secret-broker', 'secret-broker'],
      ['masking-0', 'masking'],
    ])),
  );
  instances.push(
    ...(await start([
      ['masking-1', 'masking'],
      ['audit-writer-0', 'audit-writer', 'writer-0'],
    ])),
  );
  instances.push(
    ...(await start([
      ['audit-writer-1', 'audit-writer', 'writer-1'],
      ['proxy-0', 'proxy'],
      ['proxy-1', 'proxy'],
    ])),
  );
  bus = await createBus({ natsUrl: [...nats.urls], name: 'cluster-e2e' });
  const writerConfig = instances.find((i) => i.name === 'audit-writer-1')!.config;
  // R3 everywhere: the audit streams and every KV bucket the services created (chain heads, approvals…).
  const streams = await nats.streams();
  for (const s of [STREAMS.AUDIT_RAW, STREAMS.AUDIT_CLEAN, STREAMS.AUDIT_DLQ, STREAMS.AUDIT_CHECKPOINTS])
    assert.ok(
      streams.some((x) => x.name === s.name),
      `${s.name} declared`,
    );
  assert.ok(
    streams.some((x) => x.name === `KV_${CHAIN_BUCKET}`),
    'the chain-head bucket exists',
  );
  assert.deepEqual(
    streams.filter((x) => x.replicas !== 3).map((x) => `${x.name} R${x.replicas}`),
    [],
    'every stream and KV bucket has 3 replicas',
  );
  const proxies = instances.filter((i) => i.name.startsWith('proxy')).map((i) => i.gateway.url!);
  const token = await issuer.mint(githubClaims({ repository: 'acme/app' }));
  console.log(`# services up at ${elapsed()}`);

  const load = new Load(proxies, token);
  load.start();
  // NATS: kill the node leading AUDIT_RAW (the proxies' intents wait on its acknowledgement), then restart it.
  await load.more(60);
  const natsVictim = (await nats.streamLeader(STREAMS.AUDIT_RAW.name)) ?? 0;
  await nats.kill(natsVictim);
  const natsKilledAt = load.sent.length;
  console.log(`# NATS node ${natsVictim} (AUDIT_RAW leader) killed at ${elapsed()} after ${natsKilledAt} requests`);
  await load.more(80, 3000);
  await nats.start(natsVictim);
  await nats.waitHealthy();
  console.log(
    `# NATS node ${natsVictim} back at ${elapsed()}; ${load.sent.length - natsKilledAt} requests meanwhile, ${load.sent.slice(natsKilledAt).filter(ok).length} of them 2xx`,
  );
  await load.more(60);
  // OpenSearch: kill the node that is not the cluster manager (with two nodes only the manager votes); its primaries
  // move to the replicas on the manager, which the writers' client turns to once the victim's connection fails.
  const manager = (await os.clusterManager()) ?? 0;
  const osUrl = os.urls[manager]!;
  const osVictim = manager === 0 ? 1 : 0;
  await os.kill(osVictim);
  const osKilledAt = load.sent.length;
  console.log(`# OpenSearch node ${osVictim} killed at ${elapsed()} after ${osKilledAt} requests`);
  await load.more(100, 3000);
  const osRestart = os.start(osVictim);
  osRestart.catch(() => {});
  await load.more(60);
  await load.stop();
  const sent = load.sent;
  const good = sent.filter(ok);
  const refused = sent.filter((s) => !ok(s));
  console.log(
    `# load done at ${elapsed()}: ${sent.length} requests, ${good.length} 2xx, ${refused.length} refused (${[...new Set(refused.map((r) => r.status))].join(',')})`,
  );

  // Fail closed: every refusal is a clear error with a code, never a dropped connection.
  for (const r of refused) {
    assert.notEqual(r.status, 0, `request ${r.marker} got no answer: ${r.body}`);
    const err = (JSON.parse(r.body) as { error?: { code?: string; message?: string } }).error;
    assert.match(err?.code ?? '', /^ERR_[A-Z_]+$/, `refusal of ${r.marker} names a code: ${r.body}`);
    assert.ok((err?.message ?? '').length > 10, r.body);
  }
  assert.ok(good.length >= sent.length / 2, `most requests succeeded (${good.length} of ${sent.length})`);
  for (const p of [0, 1])
    assert.ok(
      good.some((s) => s.proxy === p),
      `proxy ${p} served requests`,
    );

  // Drained: both work queues empty, every 2xx has its pair of events, and the index stops changing.
  const deadline = Date.now() + 90_000;
  let docs: Doc[] = [];
  for (let stable = 0, last = -1; ; ) {
    docs = await searchDocs(osUrl);
    const groups = byMarker(docs);
    const complete = good.every((s) => (groups.get(s.marker) ?? []).some((d) => d.phase === 'completed'));
    const backlog = (await bus.streams.fill(STREAMS.AUDIT_RAW.name)).messages + (await bus.streams.fill(STREAMS.AUDIT_CLEAN.name)).messages;
    stable = complete && backlog === 0 && docs.length === last ? stable + 1 : 0;
    last = docs.length;
    if (stable >= 3) break;
    assert.ok(Date.now() < deadline, `pipeline drained within 90 s (complete ${complete}, backlog ${backlog}, ${docs.length} docs)`);
    await sleep(500);
  }
  console.log(`# drained at ${elapsed()}: ${docs.length} documents`);

  assert.equal(new Set(docs.map((d) => d.id)).size, docs.length, 'no event id indexed twice');
  const groups = byMarker(docs);
  for (const s of good) {
    const phases = (groups.get(s.marker) ?? []).map((d) => d.phase).sort();
    assert.deepEqual(phases, ['completed', 'requested'], `2xx ${s.marker} (proxy ${s.proxy}) has its intent and outcome exactly once`);
  }
  for (const r of refused) {
    const phases = (groups.get(r.marker) ?? []).map((d) => d.phase);
    assert.ok(!phases.includes('completed'), `refused ${r.marker} never completed: ${phases}`);
    // An intent that may have been stored although unacknowledged gets its outcome (no half record).
    if (phases.includes('requested'))
      assert.ok(
        phases.some((p) => p !== 'requested'),
        `refused ${r.marker} has an outcome beside its intent: ${phases}`,
      );
    assert.ok(phases.filter((p) => p === 'requested').length <= 1, `refused ${r.marker}: intent at most once`);
  }

  // The killed OpenSearch node rejoins and holds the same documents (its replicas recovered).
  await osRestart;
  await os.waitFor('green');
  const again = await searchDocs(os.urls[osVictim]!);
  assert.equal(again.length, docs.length, 'the restarted node serves every document');
  console.log(`# cluster load: ${sent.length} requests (${good.length} 2xx, ${refused.length} refused), ${docs.length} events; done at ${elapsed()}`);
  // A filler keeps the chain slot of an event another partition's writer stored first (its _id says so).
  drained = {
    docs: docs.length,
    fillers: docs.filter((d) => d.id.startsWith('filler-')).length,
    sink: writerConfig.audit.sinks[0]!,
    indexPrefix: writerConfig.audit.indexPrefix,
    keyPath: base.keyPath,
  };
});

test('cluster - verify walks both chain partitions after the failures: each is intact and signed, and together they hold every indexed document', async () => {
  assert.ok(drained && bus, 'the load test above drained the pipeline');
  const sink = createSink(drained.sink, drained.indexPrefix);
  const publicKey = readPublicKey(publicKeyPath(drained.keyPath));
  const reports: VerifyReport[] = [];
  try {
    // Both partitions are read before any assertion, so a failure shows the state of each.
    for (const partition of PARTITIONS) {
      let report = await verifyTrail({ sink, partition, publicKey, checkpoints: { bus } });
      for (let i = 0; i < 40 && report.verdict !== 'ok'; i++) {
        await sleep(250);
        report = await verifyTrail({ sink, partition, publicKey, checkpoints: { bus } });
      }
      reports.push(report);
    }
  } finally {
    await (sink as { close?: () => Promise<void> }).close?.();
  }
  const summary = reports
    .map((r) => {
      const holes = r.problems.filter((p) => p.kind === 'deleted').map((p) => p.seq);
      return `${r.partition}: ${r.verdict}, ${r.total} documents, head ${r.trailHead}, checkpoint ${r.checkpointSeq}, bus head ${r.busHead}${holes.length ? `, ${holes.length} empty position(s) from ${holes[0]}` : ''}`;
    })
    .join('; ');
  const cps = await bus.streams.info(STREAMS.AUDIT_CHECKPOINTS.name);
  const cpLeader = (await nats!.streams()).find((x) => x.name === STREAMS.AUDIT_CHECKPOINTS.name)?.leader;
  console.log(`# verify at ${elapsed()}: ${summary}; AUDIT_CHECKPOINTS holds ${cps.messages} (last seq ${cps.lastSeq}, leader node ${cpLeader})`);
  // Both failures this test found on NATS failover are closed: an event redelivered to the other partition's writer takes a
  // slot in both chains and the one that lost keeps a filler (not a hole), and reservations of a failed batch are settled
  // (resolveOrphans) so the checkpoint passes them.
  // What `agentgate verify --all-partitions` runs: the partitions found in the index and on the bus, and the index's count.
  const allSink = createSink(drained.sink, drained.indexPrefix);
  const all = await verifyAllPartitions({ sink: allSink, publicKey, checkpoints: { bus } }).finally(() => allSink.close());
  assert.deepEqual(
    all.partitions.map((p) => p.partition),
    [...PARTITIONS].sort(),
    formatVerifyAllReport(all),
  );
  assert.equal(all.documents, drained.docs, formatVerifyAllReport(all));
  assert.equal(all.unchained, 0, formatVerifyAllReport(all));
  for (const r of reports) {
    assert.equal(r.verdict, 'ok', `${summary}\n${JSON.stringify(r).slice(0, 1500)}`);
    assert.ok(r.total > 0, `partition ${r.partition} wrote events`);
  }
  assert.equal(
    reports.reduce((n, r) => n + r.total, 0),
    drained.docs,
    `the partitions' chains (${reports.map((r) => `${r.partition}: ${r.total}`).join(', ')}) hold every indexed document`,
  );
  assert.equal(
    reports.reduce((n, r) => n + r.fillers, 0),
    drained.fillers,
    'every filler in the index is a slot of a chain (an event sealed twice keeps one copy and one filler)',
  );
  console.log(
    `# verify: ${reports.map((r) => `${r.partition} ${r.total} documents (${r.fillers} filler(s)), checkpoint ${r.checkpointSeq}`).join('; ')}; done at ${elapsed()}`,
  );
});
