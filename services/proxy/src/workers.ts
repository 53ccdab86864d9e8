import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@agentgate/log';

/** The environment variable a worker finds its index in (0 … workers-1). */
export const WORKER_ENV = 'AGENTGATE_PROXY_WORKER';

export interface WorkerPoolOptions {
  /** How many workers (`gateway.workers`, above 1). */
  workers: number;
  /** A worker still running this long after the pool forwarded SIGTERM is killed (SIGKILL). */
  stopTimeoutMs: number;
  log: Logger;
  /** Wait before a worker that died unasked is replaced (default 1 s: a worker failing at start-up does not spin). */
  restartDelayMs?: number;
}

/** The running pool: `stopped` resolves with the exit code the primary should end with. */
export interface WorkerPool {
  /** The workers' process ids right now. */
  pids(): number[];
  /** Forwards SIGTERM to every worker and resolves once all have exited (what SIGTERM/SIGINT to the primary does). */
  stop(): Promise<number>;
  readonly stopped: Promise<number>;
}

/**
 * The proxy on more than one core: the primary process forks `workers`
 * copies of its own entry (node:cluster), which listen on the same address
 * (the primary accepts and hands connections round-robin; each worker runs
 * the whole pipeline with its own bus connection, caches and outcome spool
 * file, so nothing per request crosses processes). The primary connects to
 * nothing itself. A worker that dies unasked is logged and replaced; on
 * SIGTERM/SIGINT each worker gets SIGTERM and drains as a single proxy does
 * (requests in flight finish, their records are stored), and the primary
 * exits once all have: 0 when every worker exited 0.
 */
export function startWorkerPool(opts: WorkerPoolOptions): WorkerPool {
  const { log } = opts;
  const live = new Map<number, Worker>();
  let stopping = false;
  let failed = false;
  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((r) => (resolveStopped = r));

  const fork = (index: number): void => {
    const w = cluster.fork({ [WORKER_ENV]: String(index) });
    live.set(index, w);
    w.once('exit', (code, signal) => {
      if (live.get(index) === w) live.delete(index);
      if (stopping) {
        if (code !== 0) failed = true;
        log.info({ worker: index, pid: w.process.pid, code, signal }, 'proxy worker stopped');
        if (live.size === 0) resolveStopped(failed ? 1 : 0);
        return;
      }
      log.error({ worker: index, pid: w.process.pid, code, signal }, 'proxy worker exited unexpectedly: starting another');
      setTimeout(() => {
        if (!stopping) fork(index);
      }, opts.restartDelayMs ?? 1000).unref();
    });
  };
  for (let i = 0; i < opts.workers; i++) fork(i);
  log.info({ workers: opts.workers }, 'proxy workers started');

  const stop = (): Promise<number> => {
    if (!stopping) {
      stopping = true;
      if (live.size === 0) resolveStopped(0);
      for (const w of live.values()) w.process.kill('SIGTERM');
      // A worker has its own forced exit; this is the pool's bound on top of it.
      setTimeout(() => {
        for (const w of live.values()) w.process.kill('SIGKILL');
      }, opts.stopTimeoutMs).unref();
    }
    return stopped;
  };
  return { pids: () => [...live.values()].flatMap((w) => (w.process.pid === undefined ? [] : [w.process.pid])), stop, stopped };
}
