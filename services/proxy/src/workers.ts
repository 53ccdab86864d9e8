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
  /**
   * More unasked deaths than this within `restartWindowMs` (default 5 in 60 s) stop the pool with exit
   * code 1: a worker that cannot start (NATS unreachable, a port it cannot bind) is the operator's to see,
   * not to be retried forever behind a primary that looks alive.
   */
  maxRestarts?: number;
  restartWindowMs?: number;
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
 * exits once all have: 0 when every worker exited 0. Workers that keep
 * dying (`maxRestarts` in `restartWindowMs`) stop the pool with code 1.
 */
export function startWorkerPool(opts: WorkerPoolOptions): WorkerPool {
  const { log } = opts;
  const live = new Map<number, Worker>();
  let stopping = false;
  let failed = false;
  // When workers exited unasked, within the restart window.
  const deaths: number[] = [];
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
      const now = Date.now();
      deaths.push(now);
      while (deaths.length > 0 && deaths[0]! <= now - (opts.restartWindowMs ?? 60_000)) deaths.shift();
      if (deaths.length > (opts.maxRestarts ?? 5)) {
        log.fatal({ worker: index, pid: w.process.pid, code, signal, deaths: deaths.length }, 'proxy workers keep exiting: stopping them all');
        failed = true;
        void stop();
        return;
      }
      log.error({ worker: index, pid: w.process.pid, code, signal }, 'proxy worker exited unexpectedly: starting another');
      // Not unref'd: while every worker is down this timer is what keeps the primary's event loop alive.
      setTimeout(() => {
        if (!stopping) fork(index);
      }, opts.restartDelayMs ?? 1000);
    });
  };
  for (let i = 0; i < opts.workers; i++) fork(i);
  log.info({ workers: opts.workers }, 'proxy workers started');

  const stop = (): Promise<number> => {
    if (!stopping) {
      stopping = true;
      if (live.size === 0) resolveStopped(failed ? 1 : 0);
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
