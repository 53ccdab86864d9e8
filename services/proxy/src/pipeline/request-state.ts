import { randomUUID } from 'node:crypto';
import { childFor, type LogContext, type Logger } from '@agentgate/log';
import type { Adapter } from '../adapters/types.js';
import type { ActionFacts } from './events.js';

/**
 * What one request (or upgrade) has learnt so far, shared by the pipeline's
 * stages (run.ts, upgrade.ts) and read by the failure path: which connection
 * and adapter it reached, whether anyone was authenticated, its audit facts
 * once decided, and whether its intent is on the record. Each stage fills in
 * what it found; the failure path decides from it what to record and count.
 */
export class RequestState {
  readonly requestId: string;
  /** When the request arrived (`process.hrtime.bigint()`). */
  readonly started: bigint;
  connectionName: string | undefined;
  adapter: Adapter | undefined;
  /** The action's audit facts, once it is classified (set even when it could not be). */
  facts: ActionFacts | undefined;
  /** A principal was verified: refusals from here on are action events, not aggregated refusals. */
  authenticated = false;
  /** The intent (`requested`) is on the record: every ending after it is recorded too. */
  requested = false;
  readonly #base: Logger;
  #ids: LogContext;
  #child: Logger | undefined;

  constructor(base: Logger, requestId: string = randomUUID(), started: bigint = process.hrtime.bigint()) {
    this.#base = base;
    this.requestId = requestId;
    this.started = started;
    this.#ids = { requestId };
  }

  /** The request's child logger, built only when a line is written: pino children are not free, and most requests log nothing. */
  readonly log = (): Logger => {
    this.#child ??= childFor(this.#base, this.#ids);
    return this.#child;
  };

  /** Binds the log lines from here on to the authenticated session and the action. */
  bindAction(sessionId: string, actionId: string): void {
    this.authenticated = true;
    this.#ids = { requestId: this.requestId, sessionId, actionId };
    this.#child = undefined;
  }

  /** Nanoseconds since the request arrived. */
  elapsedNs(): number {
    return Number(process.hrtime.bigint() - this.started);
  }
}
