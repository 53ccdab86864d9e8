import { CodedError } from '@agentgate/bus';

/** Error codes of the identity service. Callers (and tests) branch on the code, never on the message. */
export type IdentityErrorCode =
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_TOO_LARGE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_TOKEN_ISSUER_UNKNOWN'
  | 'ERR_TOKEN_ISSUER_MISMATCH'
  | 'ERR_TOKEN_AUDIENCE'
  | 'ERR_TOKEN_ALG'
  | 'ERR_TOKEN_SIGNATURE'
  | 'ERR_TOKEN_KID_UNKNOWN'
  | 'ERR_TOKEN_CRIT'
  | 'ERR_TOKEN_CLAIM_MISSING'
  | 'ERR_TOKEN_CLAIM_CONSTRAINT'
  | 'ERR_JWKS_UNAVAILABLE'
  | 'ERR_IDENTITY_CONFIG';

/** Every code, for documentation checks and exhaustive handling. */
export const IDENTITY_ERROR_CODES: readonly IdentityErrorCode[] = [
  'ERR_TOKEN_MALFORMED',
  'ERR_TOKEN_TOO_LARGE',
  'ERR_TOKEN_EXPIRED',
  'ERR_TOKEN_NOT_YET_VALID',
  'ERR_TOKEN_ISSUER_UNKNOWN',
  'ERR_TOKEN_ISSUER_MISMATCH',
  'ERR_TOKEN_AUDIENCE',
  'ERR_TOKEN_ALG',
  'ERR_TOKEN_SIGNATURE',
  'ERR_TOKEN_KID_UNKNOWN',
  'ERR_TOKEN_CRIT',
  'ERR_TOKEN_CLAIM_MISSING',
  'ERR_TOKEN_CLAIM_CONSTRAINT',
  'ERR_JWKS_UNAVAILABLE',
  'ERR_IDENTITY_CONFIG',
];

/**
 * Base error of the identity service. The message is safe to show to the
 * caller (never contains the token); the underlying library error is kept as
 * `cause` for the log only.
 */
export class IdentityError extends CodedError<IdentityErrorCode> {}
