import { performance } from 'node:perf_hooks';
import type { ManagedProcess } from './managed-process.js';

/**
 * Holds the current process of a server that tests stop and start again,
 * and measures how long each start took.
 */
export class Restartable {
  private proc: ManagedProcess | undefined;
  private pending: Promise<void> | undefined;
  /** Start-up time of each start, in ms, oldest first. */
  readonly startups: number[] = [];

  constructor(
    private readonly launch: () => Promise<ManagedProcess>,
    private readonly graceMs: number,
  ) {}

  get running(): boolean {
    return this.proc !== undefined && !this.proc.hasExited();
  }

  get pid(): number | undefined {
    return this.running ? this.proc?.pid : undefined;
  }

  /** Start-up time of the latest start, in ms (NaN before the first). */
  get startupMs(): number {
    return this.startups.at(-1) ?? Number.NaN;
  }

  async start(): Promise<void> {
    await this.pending;
    if (this.running) return;
    const t0 = performance.now();
    this.pending = this.launch().then((proc) => {
      this.proc = proc;
      this.startups.push(Math.round(performance.now() - t0));
    });
    try {
      await this.pending;
    } finally {
      this.pending = undefined;
    }
  }

  /** Graceful stop (SIGTERM, then SIGKILL after the grace period). */
  async stop(): Promise<void> {
    await this.pending;
    await this.proc?.stop(this.graceMs);
    this.proc = undefined;
  }

  /** Crash: SIGKILL with no grace. */
  async kill(): Promise<void> {
    await this.pending;
    await this.proc?.stop(0);
    this.proc = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/** The part of a server handle that every restartable server shares. */
export interface ServerLifecycle {
  /** Start-up time of the latest start, in ms. */
  readonly startupMs: number;
  /** Start-up times of every start, in ms. */
  readonly startups: readonly number[];
  readonly running: boolean;
  readonly pid: number | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Stops and removes the temp dir. */
  close(): Promise<void>;
}

/** First start of a server; its temp dir is removed when that start fails. */
export async function firstStart(life: Restartable, tmp: { cleanup(): void }): Promise<void> {
  try {
    await life.start();
  } catch (err) {
    tmp.cleanup();
    throw err;
  }
}

/**
 * Adds the lifecycle (getters included, so `running` and `startupMs` stay
 * live) to a server's own fields.
 */
export function withLifecycle<T extends object>(fields: T, life: Restartable, tmp: { cleanup(): void }): T & ServerLifecycle {
  const lifecycle: ServerLifecycle = {
    get startupMs() {
      return life.startupMs;
    },
    startups: life.startups,
    get running() {
      return life.running;
    },
    get pid() {
      return life.pid;
    },
    start: () => life.start(),
    stop: () => life.stop(),
    kill: () => life.kill(),
    restart: () => life.restart(),
    async close() {
      await life.stop();
      tmp.cleanup();
    },
  };
  return Object.defineProperties(fields, Object.getOwnPropertyDescriptors(lifecycle)) as T & ServerLifecycle;
}
