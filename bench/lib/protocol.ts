/** Messages between pipeline.ts and the load generator process (lib/loadgen.ts), over fork()'s IPC channel. */

/** One fixed-rate step the load generator runs. */
export interface StepOrder {
  type: 'step';
  /** `http://127.0.0.1:<port>` of the proxy or of the upstream (baseline). */
  origin: string;
  /** Path before the request number, e.g. `/api/bench/`. */
  pathPrefix: string;
  /** Actions per second to offer. */
  rate: number;
  seconds: number;
  /** Bearer tokens, used round robin (empty for the baseline). */
  tokens: string[];
  /** 10 hex digits: the run's tag and the step's number; request `n` gets trace id `<tracePrefix><n as 22 hex digits>`. */
  tracePrefix: string;
  /** Connections to the target. */
  connections: number;
  /** Requests in flight at most; a send due while at the cap is skipped (and counted). */
  maxInFlight: number;
  /** Lag samples per second sent back while the step runs (0: none). */
  samplesPerSecond: number;
}

/** Requests of the step whose response completed, as `[n, epoch ms]` (sampled for the lag poller). */
export interface SamplesMessage {
  type: 'samples';
  items: Array<[number, number]>;
}

/** What the load generator measured in one step. */
export interface StepResult {
  type: 'result';
  /** Requests sent (numbered 0..sent-1). */
  sent: number;
  /** Answered 200 with the body read whole. */
  ok: number;
  /** Numbers of the requests that did not get a 200 (cut at 1000). */
  failed: number[];
  failedCount: number;
  /** Status code (or error code) → count, for everything but 200. */
  failures: Record<string, number>;
  /** Sends skipped because `maxInFlight` requests were in flight. */
  skipped: number;
  /** From the first send to the last response, ms. */
  elapsedMs: number;
  /** Client latency of the 200s, ms. */
  latency: { p50: number; p90: number; p99: number; max: number };
}

export type LoadgenMessage = SamplesMessage | StepResult | { type: 'ready' } | { type: 'error'; message: string };
