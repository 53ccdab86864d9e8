import { CodedError } from '@agentgate/bus';

/** Error codes of the audit writer. Tests assert the code, never the message. */
export type AuditWriterErrorCode =
  | 'ERR_SINK_UNAVAILABLE'
  | 'ERR_SINK_SETUP'
  | 'ERR_SINK_READ'
  | 'ERR_CHAIN_CONFLICT'
  | 'ERR_CHAIN_STATE'
  | 'ERR_CHECKPOINT_KEY'
  | 'ERR_CHECKPOINT_INVALID'
  | 'ERR_WRITER_STOPPED';

/** Base error of the audit writer, with a typed code and the cause passed through. */
export class AuditWriterError extends CodedError<AuditWriterErrorCode> {}
