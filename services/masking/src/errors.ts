import { CodedError } from '@agentgate/bus';

/** Error codes of the masking service. Tests assert the code, never the message. */
export type MaskingServiceErrorCode =
  /** Raw message bytes are not UTF-8 JSON. */
  | 'ERR_MASKSVC_BAD_JSON'
  /** The JSON is not a valid audit event (validateEvent refused it). */
  | 'ERR_MASKSVC_INVALID_EVENT'
  /** The masking engine threw on this event. */
  | 'ERR_MASKSVC_MASK_FAILED'
  /** Masking changed what identifies the event (its id), or the masked event is no longer valid. */
  | 'ERR_MASKSVC_IDENTITY_CHANGED'
  /** The brokered secret values could not be fetched (yet): events wait, they never pass unmasked. */
  | 'ERR_MASKSVC_MASKLIST_UNAVAILABLE'
  /** Bad masking configuration (unknown detector id…), found at start-up. */
  | 'ERR_MASKSVC_CONFIG';

/**
 * Base error of the masking service, with a typed code and the cause passed
 * through. Messages name paths, refs and codes, never event content or
 * secret values.
 */
export class MaskingServiceError extends CodedError<MaskingServiceErrorCode> {}
