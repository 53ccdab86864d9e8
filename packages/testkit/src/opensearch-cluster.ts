import { randomBytes } from 'node:crypto';
import { TestkitError } from './errors.js';
import { freePort, freePortInRange } from './free-port.js';
import { httpGet } from './lib/probe.js';
import { type OpenSearchNode, startOpenSearch } from './opensearch.js';
import { waitFor } from './wait-for.js';

/** Options of startOpenSearchCluster. */
export interface StartOpenSearchClusterOptions {
  /** Number of nodes, each its own JVM (default 2). */
  nodes?: number;
  /** JVM heap maximum of each node (default '768m': two nodes share a 2-core, shared machine). */
  heap?: string;
  /** Default 240 s (the JVMs start together and elect once they see each other). */
  startTimeoutMs?: number;
  /** Extra JVM flags of every node. */
  jvmArgs?: string[];
}

/**
 * A real OpenSearch cluster on loopback: one JVM per node (the Maven-resolved
 * node startOpenSearch runs), each with its own data dir and HTTP port,
 * discovering the others by transport address. Every node is cluster-manager
 * eligible and holds data. Kill and start one node by index.
 */
export interface OpenSearchCluster {
  readonly clusterName: string;
  readonly nodes: readonly OpenSearchNode[];
  /** HTTP URL of every node, by index. */
  readonly urls: readonly string[];
  stop(i: number): Promise<void>;
  /** SIGKILL of node `i`, as a crash would (its data is kept). */
  kill(i: number): Promise<void>;
  /** Starts node `i` again with its data; resolves once it answers (health yellow through it). */
  start(i: number): Promise<void>;
  /** Graceful stop, then start, of node `i`. */
  restart(i: number): Promise<void>;
  /** Index of the elected cluster manager, asked through any running node (undefined while none is elected). */
  clusterManager(): Promise<number | undefined>;
  /** Resolves once the cluster has every node and health `status` (default green). */
  waitFor(status?: 'green' | 'yellow', timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface ClusterState {
  cluster_manager_node?: string;
  master_node?: string;
  nodes?: Record<string, { transport_address?: string }>;
}

/**
 * Starts `nodes` OpenSearch nodes as one cluster (`discovery.seed_hosts`
 * and `cluster.initial_cluster_manager_nodes` by transport address). They
 * start together: the first election needs the bootstrap nodes to see each
 * other. With two nodes the voting configuration holds one of them (an even
 * count is shrunk): losing the other keeps the cluster, losing the elected
 * manager blocks writes until it is back — tests kill `clusterManager()`'s
 * peer to lose a data node, or the manager to test a write outage.
 */
export async function startOpenSearchCluster(opts: StartOpenSearchClusterOptions = {}): Promise<OpenSearchCluster> {
  const count = opts.nodes ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 5) throw new TestkitError('ERR_START_FAILED', `an OpenSearch cluster here has 1-5 nodes, not ${count}`);
  const clusterName = `agentgate-${randomBytes(4).toString('hex')}`;
  const httpPorts: number[] = [];
  const transportPorts: number[] = [];
  while (httpPorts.length < count) {
    // The runner accepts http ports 9201-9299 only.
    const p = await freePortInRange(9201, 9299);
    if (!httpPorts.includes(p)) httpPorts.push(p);
  }
  while (transportPorts.length < count) {
    const p = await freePort();
    if (!transportPorts.includes(p) && !httpPorts.includes(p)) transportPorts.push(p);
  }
  const seedHosts = transportPorts.map((p) => `127.0.0.1:${p}`);
  const started = await Promise.allSettled(
    httpPorts.map((port, i) =>
      startOpenSearch({
        port,
        heap: opts.heap ?? '768m',
        startTimeoutMs: opts.startTimeoutMs ?? 240_000,
        ...(opts.jvmArgs ? { jvmArgs: opts.jvmArgs } : {}),
        cluster: { name: clusterName, transportPort: transportPorts[i]!, seedHosts, initialManagers: seedHosts },
      }),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(nodes.map((n) => n.close()));
    throw failed.reason;
  }
  const node = (i: number): OpenSearchNode => {
    const n = nodes[i];
    if (!n) throw new TestkitError('ERR_NOT_RUNNING', `no OpenSearch node ${i} (the cluster has ${nodes.length})`);
    return n;
  };
  const anyRunning = (): OpenSearchNode => {
    const n = nodes.find((x) => x.running);
    if (!n) throw new TestkitError('ERR_NOT_RUNNING', `no node of OpenSearch cluster ${clusterName} is running`);
    return n;
  };

  const cluster: OpenSearchCluster = {
    clusterName,
    nodes,
    urls: nodes.map((n) => n.url),
    stop: (i) => node(i).stop(),
    kill: (i) => node(i).kill(),
    start: (i) => node(i).start(),
    restart: (i) => node(i).restart(),
    async clusterManager() {
      const r = await httpGet(`${anyRunning().url}/_cluster/state/cluster_manager_node,nodes`, 5_000).catch(() => undefined);
      if (r?.status !== 200) return undefined;
      const state = JSON.parse(r.body) as ClusterState;
      const id = state.cluster_manager_node ?? state.master_node;
      const address = id ? state.nodes?.[id]?.transport_address : undefined;
      const i = address ? transportPorts.findIndex((p) => address.endsWith(`:${p}`)) : -1;
      return i >= 0 ? i : undefined;
    },
    async waitFor(status = 'green', timeoutMs = 120_000) {
      await waitFor(
        async () => {
          const r = await httpGet(`${anyRunning().url}/_cluster/health?wait_for_status=${status}&wait_for_nodes=${count}&timeout=2s`, 5_000);
          if (r.status !== 200) return false;
          const h = JSON.parse(r.body) as { status?: string; number_of_nodes?: number };
          return h.number_of_nodes === count && (h.status === 'green' || h.status === status);
        },
        { timeoutMs, intervalMs: 250, what: `OpenSearch cluster ${clusterName} ${status} with ${count} nodes` },
      );
    },
    async close() {
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
  return cluster;
}
