import { CompactEncrypt, type CryptoKey, type JWK, compactDecrypt, importJWK } from 'jose';
import { SecretError } from '../errors.js';

/**
 * The encryption of broker replies: ECDH-ES (direct key agreement with the
 * requester's ephemeral P-256 key) + A256GCM. A fresh ephemeral key on the
 * broker side per reply means nothing readable crosses the bus and one
 * reply's key opens no other.
 */
export const REPLY_ALG = 'ECDH-ES';
export const REPLY_ENC = 'A256GCM';
const CTY = 'application/agentgate-secret+json';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Validates and imports the requester's public key. @throws SecretError ERR_SECRET_BAD_KEY */
export async function importRequesterKey(jwk: unknown): Promise<CryptoKey> {
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) throw new SecretError('ERR_SECRET_BAD_KEY', 'publicKey: expected a JWK object');
  const k = jwk as JWK;
  // Only P-256 is accepted: one curve to review, and the one every runtime supports.
  if (k.kty !== 'EC' || k.crv !== 'P-256') throw new SecretError('ERR_SECRET_BAD_KEY', 'publicKey: expected an EC P-256 JWK');
  // A private key on the bus means the requester leaked it; refuse rather than encrypt to a key others may hold.
  if ('d' in k) throw new SecretError('ERR_SECRET_BAD_KEY', 'publicKey: must not contain private key material');
  if (typeof k.x !== 'string' || typeof k.y !== 'string') throw new SecretError('ERR_SECRET_BAD_KEY', 'publicKey: missing x or y');
  try {
    const key = await importJWK({ kty: 'EC', crv: 'P-256', x: k.x, y: k.y }, REPLY_ALG);
    return key as CryptoKey;
  } catch (err) {
    // WebCrypto checks the point is on the curve (invalid-curve attacks on ECDH).
    throw new SecretError('ERR_SECRET_BAD_KEY', 'publicKey: not a valid P-256 public key', { cause: err });
  }
}

/** Encrypts a JSON payload to the requester's public key. */
export async function sealReply(key: CryptoKey, payload: unknown): Promise<string> {
  return new CompactEncrypt(encoder.encode(JSON.stringify(payload))).setProtectedHeader({ alg: REPLY_ALG, enc: REPLY_ENC, cty: CTY }).encrypt(key);
}

/** Opens a reply with the requester's private key. @throws SecretError ERR_SECRET_BAD_REQUEST */
export async function openReply(jwe: unknown, privateKey: CryptoKey): Promise<unknown> {
  if (typeof jwe !== 'string') throw new SecretError('ERR_SECRET_BAD_REQUEST', 'broker reply carries no JWE');
  try {
    // Pin the algorithms: a reply using anything else is not from our broker.
    const { plaintext } = await compactDecrypt(jwe, privateKey, {
      keyManagementAlgorithms: [REPLY_ALG],
      contentEncryptionAlgorithms: [REPLY_ENC],
    });
    return JSON.parse(decoder.decode(plaintext));
  } catch (err) {
    throw new SecretError('ERR_SECRET_BAD_REQUEST', 'broker reply could not be decrypted', { cause: err });
  }
}
