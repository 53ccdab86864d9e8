import { NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { BusError, type BusErrorCode } from '../errors.js';

/** Maps a nats.js error to a BusError; the raw error stays as `cause` (for logs), never in the message. */
export function mapNatsError(err: unknown, what: string): BusError {
  if (err instanceof BusError) return err;
  const text = err instanceof Error ? err.message : String(err);
  let code: BusErrorCode = 'ERR_STREAM_PUBLISH';
  if (err instanceof TimeoutError || /timeout/i.test(text)) code = 'ERR_BUS_TIMEOUT';
  else if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders()) || /no responders|jetstream is not enabled/i.test(text))
    code = 'ERR_BUS_NO_RESPONDER';
  else if (/maximum (messages|bytes)|resource limits|message size exceeds|maximum message size/i.test(text)) code = 'ERR_STREAM_FULL';
  else if (/stream not found/i.test(text)) code = 'ERR_STREAM_NOT_FOUND';
  else if (/workqueue stream/i.test(text)) code = 'ERR_CONSUMER_CONFLICT';
  else if (/wrong last sequence|key exists/i.test(text)) code = 'ERR_KV_WRONG_REVISION';
  else if (/closed|draining|disconnect|connection/i.test(text)) code = 'ERR_BUS_UNAVAILABLE';
  const messages: Partial<Record<BusErrorCode, string>> = {
    ERR_BUS_TIMEOUT: `${what}: timed out`,
    ERR_BUS_NO_RESPONDER: `${what}: no responder`,
    ERR_STREAM_FULL: `${what}: the stream is full`,
    ERR_STREAM_NOT_FOUND: `${what}: stream not found`,
    ERR_KV_WRONG_REVISION: `${what}: wrong revision`,
    ERR_BUS_UNAVAILABLE: `${what}: NATS is unavailable`,
    ERR_CONSUMER_CONFLICT: `${what}: a work-queue stream allows one consumer per subject, delivering from the first message`,
    ERR_STREAM_PUBLISH: `${what}: failed`,
  };
  return new BusError(code, messages[code] ?? `${what}: failed`, { cause: err });
}
