/** Error codes of the masking engine. Tests assert the code, never the message. */
export type MaskingErrorCode =
  /** Bad options: unknown detector id, bad secret entry, unbounded regex… */
  | 'ERR_MASKING_CONFIG'
  /** A stream redactor was used after `end()`. */
  | 'ERR_MASKING_STREAM_ENDED';

/**
 * Base error of the masking engine, with a typed code and the cause passed
 * through. Messages name the offending ref or detector id, never a value.
 */
export class MaskingError extends Error {
  readonly code: MaskingErrorCode;
  constructor(code: MaskingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MaskingError';
    this.code = code;
  }
}
