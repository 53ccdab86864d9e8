import { CodedError } from '@agentgate/bus';

/** Error codes of the secret broker and its lease client. Callers branch on the code, never on the message. */
export type SecretErrorCode =
  /** The requested connection is not configured. */
  | 'ERR_SECRET_UNKNOWN_CONNECTION'
  /** The connection exists but has no credential. */
  | 'ERR_SECRET_NO_CREDENTIAL'
  /** The backend could not produce the value (variable unset, file unreadable, JWE undecryptable, broker unreachable). */
  | 'ERR_SECRET_UNAVAILABLE'
  /** The requester's public key is missing, malformed, not EC P-256, or carries private material. */
  | 'ERR_SECRET_BAD_KEY'
  /** The request or the encrypted reply is malformed. */
  | 'ERR_SECRET_BAD_REQUEST'
  /** The secrets configuration is unusable (e.g. an unreadable key file at start-up). */
  | 'ERR_SECRET_CONFIG';

/** Every code, for documentation checks and exhaustive handling. */
export const SECRET_ERROR_CODES: readonly SecretErrorCode[] = [
  'ERR_SECRET_UNKNOWN_CONNECTION',
  'ERR_SECRET_NO_CREDENTIAL',
  'ERR_SECRET_UNAVAILABLE',
  'ERR_SECRET_BAD_KEY',
  'ERR_SECRET_BAD_REQUEST',
  'ERR_SECRET_CONFIG',
];

/**
 * Base error of the secret broker. The message never contains a secret value
 * or a file's contents; the underlying error is kept as `cause` for the log.
 */
export class SecretError extends CodedError<SecretErrorCode> {}

export function isSecretErrorCode(code: unknown): code is SecretErrorCode {
  return typeof code === 'string' && (SECRET_ERROR_CODES as readonly string[]).includes(code);
}
