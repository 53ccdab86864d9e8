import { randomBytes } from 'node:crypto';
import { TestkitError } from './errors.js';
import { freePort } from './free-port.js';
import { httpGet } from './lib/probe.js';
import { type NatsServer, startNats } from './nats.js';
import { waitFor } from './wait-for.js';

/** Options of startNatsCluster. */
export interface StartNatsClusterOptions {
  /** Number of nats-server processes (default 3: the smallest cluster where R3 survives losing one). */
  nodes?: number;
  /** Default 30 s (the nodes start together: JetStream is healthy only once a meta leader is elected). */
  startTimeoutMs?: number;
}

/**
 * A JetStream cluster of real nats-server processes on loopback: each node
 * its own store dir and client port, routes to every other node. Stop, kill
 * and start one node by index; the others keep serving. Clients may connect
 * to any `urls` entry: the servers advertise the others (cluster gossip).
 */
export interface NatsCluster {
  readonly name: string;
  readonly nodes: readonly NatsServer[];
  /** Client URL of every node, by index. */
  readonly urls: readonly string[];
  /** Graceful stop of node `i` (its store is kept). */
  stop(i: number): Promise<void>;
  /** SIGKILL of node `i`, as a crash would (its store is kept). */
  kill(i: number): Promise<void>;
  /** Starts node `i` again on the same ports with the same store; resolves once it reports healthy. */
  start(i: number): Promise<void>;
  /** Graceful stop, then start, of node `i`. */
  restart(i: number): Promise<void>;
  /** Index of the node leading `stream` (its replicas' leader), or undefined while none leads. */
  streamLeader(stream: string): Promise<number | undefined>;
  /** Names and replica counts (`num_replicas`) of every stream, KV buckets (`KV_<bucket>`) included, merged over what every running node reports (each lists only the streams it hosts). */
  streams(): Promise<Array<{ name: string; replicas: number; leader: number | undefined }>>;
  /** Resolves once every running node answers `/healthz` ok (JetStream current with the meta leader). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their temp dirs. */
  close(): Promise<void>;
}

interface JszStreams {
  server_name?: string;
  account_details?: Array<{ stream_detail?: Array<{ name: string; config?: { num_replicas?: number }; cluster?: { leader?: string } }> }>;
}

/**
 * Starts `nodes` nats-servers with JetStream as one cluster (`--cluster`,
 * `--routes` to the others, a unique `--server_name` each, which JetStream
 * clustering requires). All nodes start together, since a lone node has no
 * JetStream quorum and never turns healthy.
 */
export async function startNatsCluster(opts: StartNatsClusterOptions = {}): Promise<NatsCluster> {
  const count = opts.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new TestkitError('ERR_START_FAILED', `a NATS cluster has 1-9 nodes, not ${count}`);
  const name = `agentgate-${randomBytes(4).toString('hex')}`;
  const routePorts: number[] = [];
  // Distinct ports: freePort may hand out the same port twice once it is released again.
  while (routePorts.length < count) {
    const p = await freePort();
    if (!routePorts.includes(p)) routePorts.push(p);
  }
  const serverName = (i: number) => `${name}-n${i}`;
  const started = await Promise.allSettled(
    routePorts.map((port, i) =>
      startNats({
        startTimeoutMs: opts.startTimeoutMs ?? 30_000,
        args: [
          '--server_name',
          serverName(i),
          '--cluster_name',
          name,
          '--cluster',
          `nats://127.0.0.1:${port}`,
          '--routes',
          routePorts
            .filter((_, j) => j !== i)
            .map((p) => `nats://127.0.0.1:${p}`)
            .join(','),
        ],
      }),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(nodes.map((n) => n.close()));
    throw failed.reason;
  }

  const node = (i: number): NatsServer => {
    const n = nodes[i];
    if (!n) throw new TestkitError('ERR_NOT_RUNNING', `no NATS node ${i} (the cluster has ${nodes.length})`);
    return n;
  };

  const healthy = async (n: NatsServer): Promise<boolean> => (await httpGet(`${n.monitorUrl}/healthz`)).status === 200;

  const cluster: NatsCluster = {
    name,
    nodes,
    urls: nodes.map((n) => n.url),
    stop: (i) => node(i).stop(),
    kill: (i) => node(i).kill(),
    start: (i) => node(i).start(),
    restart: (i) => node(i).restart(),
    async streamLeader(stream) {
      return (await cluster.streams()).find((s) => s.name === stream)?.leader;
    },
    async streams() {
      // A node's /jsz lists only the streams it hosts (an R1 stream lives on one node): merge every running node's view.
      const byName = new Map<string, { name: string; replicas: number; leader: number | undefined }>();
      for (const n of nodes) {
        if (!n.running) continue;
        const r = await httpGet(`${n.monitorUrl}/jsz?streams=true&config=true`).catch(() => undefined);
        if (r?.status !== 200) continue;
        const jsz = JSON.parse(r.body) as JszStreams;
        for (const s of (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? [])) {
          const i = nodes.findIndex((_, j) => serverName(j) === s.cluster?.leader);
          const seen = byName.get(s.name);
          byName.set(s.name, { name: s.name, replicas: s.config?.num_replicas ?? 1, leader: i >= 0 ? i : seen?.leader });
        }
      }
      return [...byName.values()];
    },
    async waitHealthy(timeoutMs = 30_000) {
      await waitFor(async () => (await Promise.all(nodes.filter((n) => n.running).map(healthy))).every(Boolean), {
        timeoutMs,
        intervalMs: 100,
        what: `NATS cluster ${name} healthy`,
      });
    },
    async close() {
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
  return cluster;
}
