/**
 * The one retry policy of the services that consume the bus (audit writer, masking service):
 * how long to wait after a transient failure (a NATS fetch, a sink at 429/5xx) and how to wait
 * so that a stop wakes the waiter at once. It lives in the bus package because every service that
 * retries already depends on it and the failures it paces come from the bus or from the sinks fed
 * from it; `@agentgate/events` stays a pure data model with no timers.
 */

/** How a backoff grows: `baseMs` doubling per attempt, never above `maxMs`. */
export interface BackoffPolicy {
  /** The wait cap of the first attempt (default 100 ms). */
  baseMs?: number;
  /** The largest wait cap (default 5 s). */
  maxMs?: number;
  /** Random source in [0, 1) (tests pin it). */
  random?: () => number;
}

/**
 * Exponential backoff with **equal jitter**: the cap is `min(maxMs, baseMs * 2^attempt)` and the
 * wait is half the cap plus a random share of the other half, so it lies in [cap/2, cap].
 * Equal rather than full jitter (a wait anywhere in [0, cap]): a sink that is down must not be
 * hit again within a few milliseconds by a waiter that drew a small number, while the random
 * half still spreads replicas that failed together. `attempt` counts from 0.
 */
export function backoffMs(attempt: number, policy: BackoffPolicy = {}): number {
  const baseMs = policy.baseMs ?? 100;
  const maxMs = policy.maxMs ?? 5_000;
  const random = policy.random ?? Math.random;
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 16));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: the caller checks why it woke). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Options of {@link retry}. */
export interface RetryOptions extends BackoffPolicy {
  /** True for an error worth another attempt; any other error is thrown at once. */
  retryable(err: unknown): boolean;
  /** Checked after each failure: true throws the last error instead of retrying (e.g. stop was called). */
  giveUp?(): boolean;
  /** Called before each wait, with the failed attempt's number (from 0) and its error (logging, counters). */
  onRetry?(attempt: number, err: unknown): void;
  /** Cuts a wait short (the next attempt then runs, or giveUp ends it). */
  signal?: AbortSignal;
}

/** Runs `fn` until it resolves, waiting {@link backoffMs} between attempts that failed with a retryable error. */
export async function retry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!opts.retryable(err) || opts.giveUp?.()) throw err;
      opts.onRetry?.(attempt, err);
      await sleep(backoffMs(attempt, opts), opts.signal);
    }
  }
}
