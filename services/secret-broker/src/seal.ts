import { randomBytes } from 'node:crypto';
import { CompactEncrypt, type JWK, exportJWK, generateKeyPair, importJWK } from 'jose';
import { SecretError } from './errors.js';
import { SEAL_ENC } from './lib/seal-algs.js';

/**
 * Encrypts a secret value into the compact JWE a `jwe-file` secret reads.
 * `key` is either a symmetric key (32 raw bytes, their base64url, or an `oct`
 * JWK) → `dir` + A256GCM, or a public EC/OKP JWK → `ECDH-ES` + A256GCM (the
 * broker then holds the private JWK). Example:
 * ```sh
 * node --import tsx -e "import {generateSealKey,sealSecretFile} from '@agentgate/secret-broker';
 *   const k = generateSealKey(); console.log(k);   // store in AGENTGATE_SEAL_KEY, never in the repo
 *   console.log(await sealSecretFile(process.env.TOKEN, k))" > token.jwe
 * ```
 */
export async function sealSecretFile(value: string, key: Uint8Array | string | JWK): Promise<string> {
  if (value === '') throw new SecretError('ERR_SECRET_CONFIG', 'refusing to seal an empty value');
  const plaintext = new TextEncoder().encode(value);
  if (typeof key === 'object' && !(key instanceof Uint8Array)) {
    if (key.kty === 'oct') return sealSecretFile(value, Buffer.from(key.k ?? '', 'base64url'));
    if (typeof key.d === 'string') throw new SecretError('ERR_SECRET_CONFIG', 'seal with the public key; the private key stays with the broker');
    const pub = await importJWK(key, 'ECDH-ES');
    return new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'ECDH-ES', enc: SEAL_ENC }).encrypt(pub);
  }
  const raw = typeof key === 'string' ? Buffer.from(key.trim(), 'base64url') : key;
  if (raw.length !== 32) throw new SecretError('ERR_SECRET_CONFIG', `symmetric key must be 32 bytes (got ${raw.length})`);
  return new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'dir', enc: SEAL_ENC }).encrypt(new Uint8Array(raw));
}

/** A fresh 32-byte symmetric key, base64url (for `dir` + A256GCM). */
export function generateSealKey(): string {
  return randomBytes(32).toString('base64url');
}

/** A fresh P-256 key pair as JWKs: seal with `publicJwk`, give `privateJwk` to the broker (key env or key file). */
export async function generateSealKeyPair(): Promise<{ publicJwk: JWK; privateJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
  return { publicJwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) };
}
