import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { IdentityError } from '../errors.js';

/** Three base64url segments; anything else (JWE, JSON serialisation, whitespace) is not a CI token. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface UnverifiedToken {
  header: ProtectedHeaderParameters;
  payload: JWTPayload;
}

/**
 * Checks that cost nothing and need no key: size first (before any parsing,
 * so a huge token cannot make us allocate or decode), then shape, then the
 * header's alg. The result is UNVERIFIED and only used to pick the issuer.
 */
export function precheck(token: unknown, maxTokenBytes: number): UnverifiedToken {
  if (typeof token !== 'string' || token.length === 0) {
    throw new IdentityError('ERR_TOKEN_MALFORMED', 'token is missing or not a string');
  }
  // Length in UTF-16 units is >= 1/3 of the UTF-8 bytes and equal for the ASCII a JWS consists of.
  if (token.length > maxTokenBytes || Buffer.byteLength(token, 'utf8') > maxTokenBytes) {
    throw new IdentityError('ERR_TOKEN_TOO_LARGE', `token is larger than ${maxTokenBytes} bytes`);
  }
  if (!COMPACT_JWS.test(token)) {
    throw new IdentityError('ERR_TOKEN_MALFORMED', 'token is not a compact JWS (header.payload.signature)');
  }
  let header: ProtectedHeaderParameters;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch (err) {
    throw new IdentityError('ERR_TOKEN_MALFORMED', 'token header or payload is not valid base64url JSON', { cause: err });
  }
  const alg = header.alg;
  if (typeof alg !== 'string' || alg.length === 0) {
    throw new IdentityError('ERR_TOKEN_MALFORMED', 'token header has no alg');
  }
  // RFC 8725: an unsecured token proves nothing.
  if (alg.toLowerCase() === 'none') throw new IdentityError('ERR_TOKEN_ALG', 'unsecured tokens (alg "none") are refused');
  // A symmetric alg would verify with the public key as HMAC secret (key confusion): never accepted.
  if (/^HS\d+$/i.test(alg)) throw new IdentityError('ERR_TOKEN_ALG', `symmetric alg "${alg}" is refused`);
  return { header, payload };
}
