/** Error codes of the events package. Tests assert the code, never the message. */
export type EventErrorCode = 'ERR_EVENT_INVALID' | 'ERR_CANONICAL_JSON' | 'ERR_HASH_INPUT' | 'ERR_EVENT_ID_CLOCK';

/** One problem found while validating an event: the dotted path and what was expected (never the offending value). */
export interface EventIssue {
  path: string;
  message: string;
}

/** Base error of the events package, with a typed code and the cause passed through. */
export class EventError extends Error {
  readonly code: EventErrorCode;
  /** Validation problems (ERR_EVENT_INVALID only). */
  readonly issues: readonly EventIssue[];
  constructor(code: EventErrorCode, message: string, options?: { cause?: unknown; issues?: EventIssue[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EventError';
    this.code = code;
    this.issues = Object.freeze([...(options?.issues ?? [])]);
  }
}
