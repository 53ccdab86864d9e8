import type { StreamFill, Streams } from './types.js';

/** A stream crossed one of the thresholds (up or down). */
export interface FillLevelChange {
  fill: StreamFill;
  /** How many thresholds the fill ratio has reached (0: below all). */
  level: number;
  previous: number;
  /** The threshold just crossed. */
  threshold: number;
  /** True when the highest threshold was reached. */
  top: boolean;
}

export interface FillMonitorOptions {
  streams: string[];
  /** Increasing fill ratios (0..1], e.g. [0.5, 0.8, 0.95]. */
  thresholds: readonly number[];
  /** Poll interval (default 5000 ms). */
  intervalMs?: number;
  onChange(change: FillLevelChange): void;
}

/** A level goes back down only this far below its threshold, so a stream hovering at it does not flap. */
const HYSTERESIS = 0.9;

/**
 * Watches how full streams are against their DiscardNew limits and reports each threshold crossing once,
 * so an operator hears about a filling stream before publishers are refused. `latest()` is the last
 * reading of every stream (for readiness details and, later, metrics).
 */
export class FillMonitor {
  #streams: Streams;
  #opts: FillMonitorOptions;
  #levels = new Map<string, number>();
  #latest = new Map<string, StreamFill>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(streams: Streams, opts: FillMonitorOptions) {
    this.#streams = streams;
    this.#opts = opts;
  }

  /** Polls until stop(); the timer never keeps the process alive. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.check(), this.#opts.intervalMs ?? 5000);
    this.#timer.unref();
    void this.check();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The last reading of each stream that could be read. */
  latest(): StreamFill[] {
    return [...this.#latest.values()];
  }

  /** Reads every stream now (a stream that cannot be read keeps its last reading) and reports crossings. */
  async check(): Promise<StreamFill[]> {
    // One reading at a time: a slow bus must not pile up polls.
    this.#running ??= this.#read().finally(() => {
      this.#running = undefined;
    });
    await this.#running;
    return this.latest();
  }

  async #read(): Promise<void> {
    for (const name of this.#opts.streams) {
      let fill: StreamFill;
      try {
        fill = await this.#streams.fill(name);
      } catch {
        continue; // not declared yet, or the bus is away: readiness reports that on its own
      }
      this.#latest.set(name, fill);
      const previous = this.#levels.get(name) ?? 0;
      const level = this.#level(fill.ratio, previous);
      if (level === previous) continue;
      this.#levels.set(name, level);
      const t = this.#opts.thresholds;
      this.#opts.onChange({ fill, level, previous, threshold: t[Math.max(level, previous) - 1]!, top: level === t.length });
    }
  }

  #level(ratio: number, previous: number): number {
    const t = this.#opts.thresholds;
    let up = 0;
    while (up < t.length && ratio >= t[up]!) up++;
    if (up >= previous) return up;
    // Going down: leave a level only once clearly below its threshold.
    let down = previous;
    while (down > 0 && ratio < t[down - 1]! * HYSTERESIS) down--;
    return down;
  }
}
