import { setTimeout as sleep } from 'node:timers/promises';
import { TestkitError } from './errors.js';

/** Options of waitFor. */
export interface WaitForOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 100 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what?: string;
  /** Stop early when this returns a reason (e.g. the server process exited). */
  abortIf?: () => string | undefined;
}

/**
 * Calls `fn` until it returns a value other than undefined/false, and
 * resolves with that value. A throw counts as "not yet", except a
 * TestkitError, which is final (e.g. the port answers for another server).
 * Throws ERR_TIMEOUT, with the last error as cause, when time runs out.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<Exclude<T, undefined | false>> {
  const { timeoutMs = 10_000, intervalMs = 100, what = 'condition' } = opts;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const reason = opts.abortIf?.();
    if (reason) throw new TestkitError('ERR_START_FAILED', `gave up waiting for ${what}: ${reason}`, { cause: lastError });
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>;
    } catch (err) {
      if (err instanceof TestkitError) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new TestkitError('ERR_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}
