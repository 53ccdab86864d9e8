import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';
import { closeServer, listenLoopback, sendJson } from './lib-http.js';

/** A server an attacker controls, serving its own JWKS; counts every request so tests can prove it was never contacted. */
export interface AttackerJwks {
  /** URL of the attacker's JWKS (for a `jku` header). */
  readonly jwksUrl: string;
  /** URL of an attacker "certificate" (for an `x5u` header). */
  readonly x5uUrl: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** The attacker's public key as a JWK (for an embedded `jwk` header). */
  readonly publicJwk: JWK;
  /** Requests of any kind this server received. */
  readonly requests: number;
  close(): Promise<void>;
}

/** Starts an attacker-controlled JWKS server on a free loopback port. */
export async function startAttackerJwks(alg: 'RS256' | 'PS256' | 'ES256' | 'EdDSA' = 'RS256'): Promise<AttackerJwks> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = 'attacker-key';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  let requests = 0;
  const { server, url } = await listenLoopback((_req, res) => {
    requests += 1;
    sendJson(res, 200, { keys: [publicJwk] });
  });
  return {
    jwksUrl: `${url}/jwks.json`,
    x5uUrl: `${url}/cert.pem`,
    kid,
    privateKey,
    publicJwk,
    get requests() {
      return requests;
    },
    close: () => closeServer(server),
  };
}
