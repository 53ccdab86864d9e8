import type { SecretConfig } from '@agentgate/config';
import { type CryptoKey, type JWK, compactDecrypt, importJWK } from 'jose';
import { SecretError } from '../errors.js';
import { FileSource } from './file-source.js';
import { SEAL_ALGS, SEAL_ENC } from './seal-algs.js';

/** A source of one secret value. */
export interface SecretBackend {
  readonly ref: string;
  readonly source: SecretConfig['source'];
  /** The current value. @throws SecretError ERR_SECRET_UNAVAILABLE (message without the value or file contents). */
  read(): Promise<string>;
  close(): void;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Builds one backend per configured secret. */
export function createBackends(secrets: readonly Readonly<SecretConfig>[], env: Env = process.env): Map<string, SecretBackend> {
  const out = new Map<string, SecretBackend>();
  for (const s of secrets) {
    if (s.source === 'env') out.set(s.ref, envBackend(s.ref, s.env, env));
    else if (s.source === 'file') out.set(s.ref, fileBackend(s.ref, s.path));
    else out.set(s.ref, jweFileBackend(s.ref, s.path, s.key, env));
  }
  return out;
}

function unavailable(ref: string, why: string, cause?: unknown): SecretError {
  return new SecretError('ERR_SECRET_UNAVAILABLE', `secret "${ref}" is unavailable: ${why}`, { cause });
}

/** Strips trailing newlines (files written by `echo` or editors); an empty value counts as absent. */
function clean(ref: string, text: string): string {
  const v = text.replace(/[\r\n]+$/, '');
  // Fail closed: an empty credential would send an unauthenticated request under the gateway's name.
  if (v === '') throw unavailable(ref, 'empty value');
  return v;
}

function envBackend(ref: string, name: string, env: Env): SecretBackend {
  return {
    ref,
    source: 'env',
    // Read on every lease so a supervisor that updates the environment object is honoured.
    async read() {
      const v = env[name];
      if (v === undefined) throw unavailable(ref, `environment variable ${name} is not set`);
      return clean(ref, v);
    },
    close() {},
  };
}

function fsReason(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `cannot read file (${code})` : 'cannot read file';
}

function fileBackend(ref: string, path: string): SecretBackend {
  const file = new FileSource(path);
  return {
    ref,
    source: 'file',
    async read() {
      let data: Buffer;
      try {
        data = await file.read();
      } catch (err) {
        throw unavailable(ref, fsReason(err), err);
      }
      return clean(ref, data.toString('utf8'));
    },
    close: () => file.close(),
  };
}

function jweFileBackend(ref: string, path: string, key: Readonly<{ env?: string | undefined; path?: string | undefined }>, env: Env): SecretBackend {
  const file = new FileSource(path);
  const keyFile = key.path !== undefined ? new FileSource(key.path) : undefined;
  // Decrypting on every lease is cheap but pointless; reuse while neither the JWE nor the key changed.
  let last: { jwe: Buffer; keyText: string; value: string } | undefined;
  return {
    ref,
    source: 'jwe-file',
    async read() {
      let jwe: Buffer;
      let keyText: string;
      try {
        jwe = await file.read();
      } catch (err) {
        throw unavailable(ref, fsReason(err), err);
      }
      if (keyFile) {
        try {
          keyText = (await keyFile.read()).toString('utf8').trim();
        } catch (err) {
          throw unavailable(ref, `key ${fsReason(err)}`, err);
        }
      } else {
        const v = env[key.env ?? ''];
        if (v === undefined || v.trim() === '') throw unavailable(ref, `key environment variable ${key.env} is not set`);
        keyText = v.trim();
      }
      if (last && last.jwe.equals(jwe) && last.keyText === keyText) return last.value;
      const k = await parseUnsealKey(ref, keyText);
      let plaintext: Uint8Array;
      try {
        ({ plaintext } = await compactDecrypt(jwe.toString('utf8').trim(), k, {
          keyManagementAlgorithms: [...SEAL_ALGS],
          contentEncryptionAlgorithms: [SEAL_ENC],
        }));
      } catch (err) {
        throw unavailable(ref, 'JWE file cannot be decrypted with the configured key', err);
      }
      const value = clean(ref, new TextDecoder().decode(plaintext));
      last = { jwe, keyText, value };
      return value;
    },
    close: () => {
      file.close();
      keyFile?.close();
    },
  };
}

/** A key is a JWK (oct for `dir`, EC/OKP private for ECDH-ES) or the base64url of 32 raw bytes (`dir`). */
async function parseUnsealKey(ref: string, text: string): Promise<CryptoKey | Uint8Array> {
  try {
    if (text.startsWith('{')) {
      const jwk = JSON.parse(text) as JWK;
      if (jwk.kty === 'oct') return (await importJWK(jwk, 'dir')) as Uint8Array;
      if (typeof jwk.d !== 'string') throw new Error('JWK has no private part');
      return (await importJWK(jwk, 'ECDH-ES')) as CryptoKey;
    }
    const raw = Buffer.from(text, 'base64url');
    if (raw.length !== 32) throw new Error(`expected 32 bytes, got ${raw.length}`);
    return new Uint8Array(raw);
  } catch (err) {
    // The key text is never echoed; only its kind of problem.
    throw unavailable(ref, 'unlock key is not a usable JWK or 32-byte base64url key', err);
  }
}
