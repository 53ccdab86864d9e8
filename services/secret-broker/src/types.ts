import type { JWK } from 'jose';

/** How the proxy puts a credential on the upstream request. */
export interface InjectSpec {
  type: 'bearer' | 'basic' | 'header' | 'client-certificate';
  /** Header name when type is `header`. */
  header?: string;
  /** User name when type is `basic` (the secret is the password). */
  username?: string;
}

/** A credential leased to the proxy. Serializing it (JSON, util.inspect, pino) shows `[REDACTED]` instead of the value. */
export interface Lease {
  ref: string;
  value: string;
  inject: InjectSpec;
  /** ms since epoch; the lease must not be used after this. */
  expiresAt: number;
}

/** Request of `secrets.lease`. */
export interface LeaseRequest {
  connection: string;
  /** The requester's ephemeral ECDH public key (EC P-256, no `d`). */
  publicKey: JWK;
}

/** Reply of `secrets.lease` and `secrets.masklist`: a compact JWE (ECDH-ES / A256GCM) only the requester can open. */
export interface EncryptedReply {
  jwe: string;
  ttlMs: number;
}

/** Request of `secrets.masklist`. */
export interface MasklistRequest {
  publicKey: JWK;
}

/** Plaintext inside a lease JWE. `connection` binds the reply to the request so a reply cannot be swapped for another connection's. */
export interface LeasePayload extends Lease {
  connection: string;
}

/** Plaintext inside a masklist JWE. */
export interface MasklistPayload {
  secrets: Array<{ ref: string; value: string }>;
  /** Refs whose backend could not be read (their values are absent from the list). */
  unavailable: string[];
  expiresAt: number;
}

/** The proxy's client of the broker. */
export interface LeaseClient {
  /** The credential of a connection, from cache while valid. @throws SecretError */
  lease(connection: string): Promise<Lease>;
  /** Every configured secret value, for exposure detection. @throws SecretError */
  masklist(): Promise<Array<{ ref: string; value: string }>>;
  /** Drops a cached lease (e.g. after the upstream answered 401). */
  invalidate(connection: string): void;
}

export interface LeaseClientOptions {
  /** Upper bound of the cache lifetime (default: the broker's ttlMs). */
  ttlMs?: number;
  /** Bus request deadline (default 5000). */
  timeoutMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}
