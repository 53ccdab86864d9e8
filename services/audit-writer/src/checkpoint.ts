import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { AuditWriterError } from './errors.js';
import type { StoredCheckpoint } from './sinks/types.js';

/** What a checkpoint signs. */
export interface CheckpointClaims {
  partition: string;
  /** Chain position covered (the event at `seq` and all before it). */
  seq: number;
  /** Chain hash of the event at `seq`. */
  hash: string;
  /** Events in the partition up to `seq` (seq starts at 1, so equal to seq). */
  count: number;
  /** ISO time of signing. */
  time: string;
}

/** A loaded signing key. */
export interface CheckpointSigner {
  readonly kid: string;
  readonly alg: 'EdDSA' | 'ES256';
  /** Public JWK, for verification. */
  readonly publicJwk: JWK;
  sign(claims: CheckpointClaims): Promise<StoredCheckpoint>;
}

type KeyLike = Awaited<ReturnType<typeof importJWK>>;

async function signerFrom(privateJwk: JWK): Promise<CheckpointSigner> {
  const alg = privateJwk.kty === 'OKP' ? 'EdDSA' : privateJwk.kty === 'EC' && privateJwk.crv === 'P-256' ? 'ES256' : undefined;
  // Only the two algorithms the verifier pins; anything else is refused at start-up.
  if (!alg || typeof privateJwk.d !== 'string') throw new AuditWriterError('ERR_CHECKPOINT_KEY', 'checkpoint key must be a private Ed25519 or P-256 JWK');
  const key = await importJWK(privateJwk, alg);
  const { d: _d, ...pub } = privateJwk;
  const kid = privateJwk.kid ?? 'agentgate-audit';
  return {
    kid,
    alg,
    publicJwk: { ...pub, kid, alg, use: 'sig' },
    async sign(claims) {
      const payload = new TextEncoder().encode(JSON.stringify(claims));
      const jws = await new CompactSign(payload).setProtectedHeader({ alg, kid, typ: 'agentgate-checkpoint+jws' }).sign(key);
      return { ...claims, jws };
    },
  };
}

/**
 * Loads the checkpoint signing key (a private JWK file). When the file is absent and
 * `generate` is set, creates an Ed25519 key there (mode 0600) and its public JWK beside
 * it (`<path>.pub.json`); `generated` tells the caller to log it.
 */
export async function loadCheckpointSigner(path: string, opts: { generate: boolean }): Promise<{ signer: CheckpointSigner; generated: boolean }> {
  if (!existsSync(path)) {
    if (!opts.generate) throw new AuditWriterError('ERR_CHECKPOINT_KEY', `checkpoint key file ${path} does not exist`);
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: `agentgate-audit-${Date.now().toString(36)}` };
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(jwk), { mode: 0o600 });
    const signer = await signerFrom(jwk);
    writeFileSync(publicKeyPath(path), JSON.stringify(signer.publicJwk));
    return { signer, generated: true };
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(readFileSync(path, 'utf8')) as JWK;
  } catch (cause) {
    // Never echo the file content: it is a private key.
    throw new AuditWriterError('ERR_CHECKPOINT_KEY', `checkpoint key file ${path} is not a JSON JWK`, { cause });
  }
  const signer = await signerFrom(jwk);
  if (!existsSync(publicKeyPath(path))) {
    writeFileSync(publicKeyPath(path), JSON.stringify(signer.publicJwk));
    chmodSync(path, 0o600);
  }
  return { signer, generated: false };
}

/** Where the public JWK of a key file is written. */
export function publicKeyPath(keyPath: string): string {
  return `${keyPath}.pub.json`;
}

/** Reads a public JWK file (for verify). */
export function readPublicKey(path: string): JWK {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as JWK;
  } catch (cause) {
    throw new AuditWriterError('ERR_CHECKPOINT_KEY', `cannot read public key ${path}`, { cause });
  }
}

/**
 * Verifies a compact JWS checkpoint with the public key (algorithm pinned to
 * the key's type) and returns its claims; ERR_CHECKPOINT_INVALID otherwise.
 */
export async function verifyCheckpoint(jws: string, publicJwk: JWK): Promise<CheckpointClaims> {
  const alg = publicJwk.kty === 'OKP' ? 'EdDSA' : 'ES256';
  let key: KeyLike;
  try {
    key = await importJWK({ ...publicJwk, alg }, alg);
  } catch (cause) {
    throw new AuditWriterError('ERR_CHECKPOINT_KEY', 'public key is not a usable JWK', { cause });
  }
  try {
    // Pinning algorithms stops a forged header from choosing a weaker or keyless algorithm.
    const { payload } = await compactVerify(jws, key, { algorithms: [alg] });
    const c = JSON.parse(new TextDecoder().decode(payload)) as CheckpointClaims;
    if (typeof c.partition !== 'string' || !Number.isInteger(c.seq) || typeof c.hash !== 'string') throw new Error('bad claims');
    return c;
  } catch (cause) {
    throw new AuditWriterError('ERR_CHECKPOINT_INVALID', 'checkpoint signature or claims do not verify', { cause });
  }
}
