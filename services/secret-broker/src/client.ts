import type { Bus } from '@agentgate/bus';
import { type CryptoKey, type JWK, exportJWK, generateKeyPair } from 'jose';
import { LRUCache } from 'lru-cache';
import { SecretError, isSecretErrorCode } from './errors.js';
import { openReply } from './lib/envelope.js';
import { makeLease } from './lib/lease-object.js';
import { parseLeasePayload, parseMasklistPayload } from './lib/payloads.js';
import { LEASE_SUBJECT, MASKLIST_SUBJECT } from './subjects.js';
import type { EncryptedReply, Lease, LeaseClient, LeaseClientOptions } from './types.js';

/** Bound of the lease cache: connections are configured, so this is never reached in practice; it keeps memory bounded regardless. */
const MAX_CACHED_LEASES = 1024;

interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

// One ephemeral key pair per process: the private key never leaves memory and dies with the process.
let processKeys: Promise<KeyPair> | undefined;

function keys(): Promise<KeyPair> {
  processKeys ??= (async () => {
    const { privateKey, publicKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: false });
    const { kty, crv, x, y } = await exportJWK(publicKey);
    return { privateKey, publicJwk: { kty, crv, x, y } } as KeyPair;
  })();
  return processKeys;
}

/**
 * The proxy's client of the secret broker. Leases are cached until
 * min(ttl, expiresAt), concurrent requests for one connection share one bus
 * round trip, and values are never logged (a Lease serializes as `[REDACTED]`).
 * Errors are SecretError with the broker's code; a bus failure (timeout, no
 * responder) is `ERR_SECRET_UNAVAILABLE` with the bus error as cause.
 */
export function createLeaseClient(bus: Bus, opts: LeaseClientOptions = {}): LeaseClient {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 5000;
  // One entry per connection (a few dozen at most); ttlResolution 0: expiry is read from `now` on every lookup.
  const cache = new LRUCache<string, Lease>({ max: MAX_CACHED_LEASES, perf: { now }, ttlResolution: 0 });
  const inflight = new Map<string, Promise<Lease>>();
  // Bumped by invalidate so a request already in flight does not refill the cache with the stale lease.
  const generation = new Map<string, number>();

  async function request(subject: string, body: Record<string, unknown>): Promise<{ reply: EncryptedReply; keys: KeyPair }> {
    const k = await keys();
    let reply: EncryptedReply;
    try {
      reply = await bus.request<EncryptedReply>(subject, { ...body, publicKey: k.publicJwk }, { timeoutMs });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (isSecretErrorCode(code)) throw new SecretError(code, (err as Error).message, { cause: err });
      throw new SecretError('ERR_SECRET_UNAVAILABLE', 'secret broker did not answer', { cause: err });
    }
    return { reply, keys: k };
  }

  async function fetchLease(connection: string): Promise<Lease> {
    const gen = generation.get(connection) ?? 0;
    const { reply, keys: k } = await request(LEASE_SUBJECT, { connection });
    const p = parseLeasePayload(await openReply(reply?.jwe, k.privateKey));
    // A reply for another connection (replayed or misrouted) is refused.
    if (p.connection !== connection) throw new SecretError('ERR_SECRET_BAD_REQUEST', 'broker reply is for another connection');
    const lease = makeLease(p.ref, p.value, p.inject, p.expiresAt);
    // Until min(ttl, expiresAt), exclusive (lru-cache drops an entry once its age passes the TTL, hence one ms less); 0 would mean forever.
    const ttl = Math.min(opts.ttlMs ?? reply.ttlMs, reply.ttlMs, p.expiresAt - now()) - 1;
    if ((generation.get(connection) ?? 0) === gen && ttl > 0) cache.set(connection, lease, { ttl });
    return lease;
  }

  return {
    lease(connection) {
      const hit = cache.get(connection);
      if (hit) return Promise.resolve(hit);
      let p = inflight.get(connection);
      if (!p) {
        p = fetchLease(connection).finally(() => inflight.delete(connection));
        inflight.set(connection, p);
      }
      return p;
    },
    async masklist() {
      const { reply, keys: k } = await request(MASKLIST_SUBJECT, {});
      return parseMasklistPayload(await openReply(reply?.jwe, k.privateKey)).secrets;
    },
    invalidate(connection) {
      cache.delete(connection);
      inflight.delete(connection);
      generation.set(connection, (generation.get(connection) ?? 0) + 1);
    },
  };
}
