/** Error codes of the bus. Tests assert the code, never the message. */
export type BusErrorCode =
  | 'ERR_BUS_TIMEOUT'
  | 'ERR_BUS_NO_RESPONDER'
  | 'ERR_BUS_CLOSED'
  | 'ERR_BUS_UNAVAILABLE'
  | 'ERR_BUS_BAD_SUBJECT'
  | 'ERR_BUS_BAD_PAYLOAD'
  | 'ERR_STREAM_NOT_FOUND'
  | 'ERR_STREAM_FULL'
  | 'ERR_STREAM_PUBLISH'
  | 'ERR_STREAM_NO_MATCH'
  | 'ERR_STREAM_RETENTION'
  | 'ERR_CONSUMER_CONFLICT'
  | 'ERR_KV_WRONG_REVISION'
  | 'ERR_KV_EXISTS'
  | 'ERR_KV_BAD_KEY'
  | 'ERR_REMOTE';

/**
 * The base of the typed errors of the bus and of the services on it: a code
 * callers branch on (and {@link toWireError} carries across the bus), a
 * message, and the cause passed through. `name` is the subclass's own class
 * name (`class SecretError extends CodedError<SecretErrorCode> {}` throws
 * errors named `SecretError`), so class names must survive any bundling.
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Base error of the bus, with a typed code and the cause passed through. */
export class BusError extends CodedError<BusErrorCode> {}

/**
 * An error raised by a remote handler, carried over the bus as `{code, message}`
 * and rebuilt on the caller's side. `code` is the remote's own code (e.g.
 * `ERR_TOKEN_EXPIRED`), so callers branch on it like on a local error.
 */
export class RemoteError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'RemoteError';
    this.code = code;
    this.details = details;
  }
}

/** The wire shape of an error crossing the bus. */
export interface WireError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Turns any thrown value into the wire shape; unknown errors never leak their text. */
export function toWireError(err: unknown): WireError {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    const e = err as { code: string; message?: unknown; details?: unknown; expose?: unknown };
    const out: WireError = { code: e.code, message: typeof e.message === 'string' ? e.message : e.code };
    if (e.details && typeof e.details === 'object') out.details = e.details as Record<string, unknown>;
    return out;
  }
  // A raw library error may carry internals (paths, hosts, secrets): send a generic text.
  return { code: 'ERR_INTERNAL', message: 'internal error in the remote handler' };
}
