import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A full garbage collection before the baseline is taken, so garbage left by earlier tests does
 * not hide growth (or pass for it). `global.gc` exists only under `--expose-gc`, which the test
 * runner does not pass: the flag is set at run time and a fresh context hands out its `gc`.
 */
function collectGarbage(): void {
  if (typeof global.gc === 'function') return void global.gc();
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** What {@link measureRss} saw while its work ran. */
export interface RssMeasurement<T> {
  /** The work's own result. */
  result: T;
  /** Wall time of the work, in milliseconds. */
  ms: number;
  /** RSS in bytes just before the work started, after a full garbage collection. */
  baseline: number;
  /** Highest RSS sampled minus the baseline, in MiB. */
  growthMb: number;
}

const MB = 1024 * 1024;

/**
 * Runs `work` while sampling this process's RSS every 10 ms and reports the peak growth over
 * the baseline. Gateway, upstream and client share the test process, so buffering a body
 * anywhere shows up here; shared by the memory tests and the push benchmark.
 */
export async function measureRss<T>(work: () => Promise<T>): Promise<RssMeasurement<T>> {
  collectGarbage();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const started = performance.now();
  try {
    const result = await work();
    const ms = performance.now() - started;
    // The last interval may not have fired since the work's final allocation.
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, ms, baseline, growthMb: (peak - baseline) / MB };
  } finally {
    clearInterval(sampler);
  }
}
