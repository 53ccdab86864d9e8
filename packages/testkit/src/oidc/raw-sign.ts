import { KeyObject, sign } from 'node:crypto';
import type { CryptoKey } from 'jose';

/**
 * Signs a compact JWS without any header validation — jose refuses to sign
 * headers such as an unknown `crit`, and tests need exactly such tokens.
 */
export function rawSignCompact(header: Record<string, unknown>, payload: Record<string, unknown>, key: CryptoKey): string {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(payload)}`;
  const keyObject = KeyObject.from(key as Parameters<typeof KeyObject.from>[0]);
  const data = Buffer.from(input);
  let sig: Buffer;
  switch (header['alg']) {
    case 'RS256':
      sig = sign('sha256', data, keyObject);
      break;
    case 'PS256':
      sig = sign('sha256', data, { key: keyObject, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 });
      break;
    case 'ES256':
      sig = sign('sha256', data, { key: keyObject, dsaEncoding: 'ieee-p1363' });
      break;
    case 'EdDSA':
      sig = sign(null, data, keyObject);
      break;
    default:
      throw new Error(`rawSignCompact: unsupported alg ${String(header['alg'])}`);
  }
  return `${input}.${sig.toString('base64url')}`;
}
