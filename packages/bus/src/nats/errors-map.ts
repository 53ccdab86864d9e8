import { JetStreamApiError } from '@nats-io/jetstream';
import { ClosedConnectionError, ConnectionError, DrainingConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { BusError, type BusErrorCode } from '../errors.js';

/**
 * JetStream API error codes (`api_error.err_code`, nats-server `server/errors.json`) the bus tells
 * apart. Checked against nats-server 2.15 (packages/bus/src/nats/errors-map.test.ts provokes each).
 */
export const JS_API = {
  /** JSStreamStoreFailedF: the store refused the message — DiscardNew at max_msgs, max_bytes or max_msgs_per_subject. */
  STORE_FAILED: 10077,
  /** JSStreamMessageExceedsMaximumErr: message larger than max_msg_size. */
  MESSAGE_TOO_BIG: 10054,
  /** JSInsufficientResourcesErr. */
  INSUFFICIENT_RESOURCES: 10023,
  /** JSMemoryResourcesExceededErr. */
  MEMORY_EXCEEDED: 10028,
  /** JSStorageResourcesExceededErr ("insufficient storage resources available"). */
  STORAGE_EXCEEDED: 10047,
  /** JSStreamNotFoundErr. */
  STREAM_NOT_FOUND: 10059,
  /** JSConsumerNotFoundErr. */
  CONSUMER_NOT_FOUND: 10014,
  /** JSNoMessageFoundErr. */
  NO_MESSAGE_FOUND: 10037,
  /** JSStreamNameExistErr: a stream of that name exists (with another configuration). */
  STREAM_NAME_IN_USE: 10058,
  /** JSStreamWrongLastSequenceErr: an expected-last-sequence check failed (KV create/update). */
  WRONG_LAST_SEQUENCE: 10071,
  /** JSStreamWrongLastSequenceConstantErr. */
  WRONG_LAST_SEQUENCE_UNKNOWN: 10164,
  /** JSConsumerWQMultipleUnfilteredErr / JSConsumerWQConsumerNotUniqueErr / JSConsumerWQConsumerNotDeliverAllErr. */
  WQ_MULTIPLE_UNFILTERED: 10099,
  WQ_NOT_UNIQUE: 10100,
  WQ_NOT_DELIVER_ALL: 10101,
  /** JSNotEnabledForAccountErr / JSNotEnabledErr. */
  NOT_ENABLED_FOR_ACCOUNT: 10039,
  NOT_ENABLED: 10076,
} as const;

const API_CODES: ReadonlyMap<number, BusErrorCode> = new Map<number, BusErrorCode>([
  [JS_API.STORE_FAILED, 'ERR_STREAM_FULL'],
  [JS_API.MESSAGE_TOO_BIG, 'ERR_STREAM_FULL'],
  [JS_API.INSUFFICIENT_RESOURCES, 'ERR_STREAM_FULL'],
  [JS_API.MEMORY_EXCEEDED, 'ERR_STREAM_FULL'],
  [JS_API.STORAGE_EXCEEDED, 'ERR_STREAM_FULL'],
  [JS_API.STREAM_NOT_FOUND, 'ERR_STREAM_NOT_FOUND'],
  [JS_API.WRONG_LAST_SEQUENCE, 'ERR_KV_WRONG_REVISION'],
  [JS_API.WRONG_LAST_SEQUENCE_UNKNOWN, 'ERR_KV_WRONG_REVISION'],
  [JS_API.WQ_MULTIPLE_UNFILTERED, 'ERR_CONSUMER_CONFLICT'],
  [JS_API.WQ_NOT_UNIQUE, 'ERR_CONSUMER_CONFLICT'],
  [JS_API.WQ_NOT_DELIVER_ALL, 'ERR_CONSUMER_CONFLICT'],
  [JS_API.NOT_ENABLED_FOR_ACCOUNT, 'ERR_BUS_NO_RESPONDER'],
  [JS_API.NOT_ENABLED, 'ERR_BUS_NO_RESPONDER'],
]);

/** The JetStream API error code of `err`, or undefined when it is not a JetStream API error. */
export function jsApiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

function isNoResponders(err: unknown): boolean {
  return err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders());
}

/** The bus code of a JetStream API error code (`err_code` of an error reply); ERR_STREAM_PUBLISH for one it does not tell apart. */
export function apiErrorCode(errCode: number): BusErrorCode {
  return API_CODES.get(errCode) ?? 'ERR_STREAM_PUBLISH';
}

/** The bus code for a nats.js error, by its class or JetStream API code; ERR_STREAM_PUBLISH when neither says more. */
export function busCodeOf(err: unknown): BusErrorCode {
  const api = jsApiCode(err);
  if (api !== undefined) return apiErrorCode(api);
  if (err instanceof TimeoutError) return 'ERR_BUS_TIMEOUT';
  // A JetStream request nobody answered (no stream captures the subject, or JetStream is off) comes as the client's
  // JetStreamNotEnabled (exported only from its internal module) whose cause is the request's no-responders error.
  if (isNoResponders(err) || (err instanceof Error && isNoResponders(err.cause))) return 'ERR_BUS_NO_RESPONDER';
  if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError || err instanceof ConnectionError) return 'ERR_BUS_UNAVAILABLE';
  return 'ERR_STREAM_PUBLISH';
}

const MESSAGES: Partial<Record<BusErrorCode, string>> = {
  ERR_BUS_TIMEOUT: 'timed out',
  ERR_BUS_NO_RESPONDER: 'no responder',
  ERR_STREAM_FULL: 'the stream is full',
  ERR_STREAM_NOT_FOUND: 'stream not found',
  ERR_KV_WRONG_REVISION: 'wrong revision',
  ERR_BUS_UNAVAILABLE: 'NATS is unavailable',
  ERR_CONSUMER_CONFLICT: 'a work-queue stream allows one consumer per subject, delivering from the first message',
};

/**
 * Maps a nats.js error to a BusError by the client's error class and the JetStream API error code
 * (never by message text); the raw error stays as `cause` (for logs), never in the message.
 */
export function mapNatsError(err: unknown, what: string): BusError {
  if (err instanceof BusError) return err;
  const code = busCodeOf(err);
  return new BusError(code, `${what}: ${MESSAGES[code] ?? 'failed'}`, { cause: err });
}
