import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import { TestkitError } from './errors.js';
import { selfSignedCertArgs } from './lib/openssl.js';
import { closeServer, listenLoopback, sendJson } from './oidc/lib-http.js';
import { requireBinary } from './require-binary.js';
import { tempDir } from './temp-dir.js';

/** Options of startRegistryTokenIssuer. */
export interface StartRegistryTokenIssuerOptions {
  /** The only credential the endpoint accepts (HTTP Basic). */
  username: string;
  password: string;
  /** `service` of the registry (the token's `aud`); default `agentgate-test-registry`. */
  service?: string;
  /** Token lifetime in seconds; default 300. */
  expiresIn?: number;
}

/** One request the token endpoint answered. */
export interface TokenRequestRecord {
  readonly authorized: boolean;
  readonly service: string | undefined;
  readonly scopes: readonly string[];
  /** The Authorization header as received, for credential checks in tests. */
  readonly authorization: string | undefined;
}

/**
 * A registry token server (the "docker token auth" flow) for Distribution's
 * `auth: token`: `GET /token?service=…&scope=repository:acme/app:pull,push`
 * with HTTP Basic answers `{"token","access_token","expires_in","issued_at"}`,
 * an ES256 JWT granting every requested scope. Distribution 2.8 verifies it
 * against `rootcertbundle`: the JWT header's `kid` is the libtrust
 * fingerprint of the certificate's key, the `aud` a string (the service).
 */
export interface RegistryTokenIssuer {
  /** `http://127.0.0.1:<port>/token`: the registry's `realm`. */
  readonly realm: string;
  readonly service: string;
  /** The token's `iss`, which the registry's config must name. */
  readonly issuer: string;
  /** PEM file of the self-signed certificate of the signing key (the registry's `rootcertbundle`). */
  readonly rootCertBundle: string;
  /** Every request so far, in order. */
  readonly requests: TokenRequestRecord[];
  close(): Promise<void>;
}

/**
 * libtrust's key id: SHA-256 of the DER SubjectPublicKeyInfo, truncated to
 * 240 bits, base32 without padding, in twelve `:`-separated groups of four.
 */
export function libtrustKeyId(spkiDer: Buffer): string {
  const bytes = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)?.join(':') ?? out;
}

/** Starts the token server on a free loopback port, with a fresh P-256 key and self-signed certificate (openssl). */
export async function startRegistryTokenIssuer(opts: StartRegistryTokenIssuerOptions): Promise<RegistryTokenIssuer> {
  const openssl = requireBinary('openssl', 'apt-get install -y openssl');
  const tmp = tempDir('registry-token');
  const keyFile = join(tmp.path, 'key.pem');
  const certFile = join(tmp.path, 'cert.pem');
  try {
    execFileSync(openssl, selfSignedCertArgs('/CN=agentgate-test-token-issuer', keyFile, certFile), { stdio: 'ignore' });
  } catch (cause) {
    tmp.cleanup();
    throw new TestkitError('ERR_START_FAILED', 'openssl could not create the token signing certificate', { cause });
  }
  const pkcs8 = createPrivateKey(readFileSync(keyFile)).export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = await importPKCS8(pkcs8, 'ES256');
  const kid = libtrustKeyId(createPublicKey(readFileSync(keyFile)).export({ type: 'spki', format: 'der' }));
  const service = opts.service ?? 'agentgate-test-registry';
  const issuer = 'agentgate-testkit-token-issuer';
  const expected = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
  const requests: TokenRequestRecord[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token' || req.method !== 'GET') {
      sendJson(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'GET /token only' }] });
      return;
    }
    const authorization = req.headers.authorization;
    const authorized = authorization === expected;
    const scopes = url.searchParams
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter(Boolean);
    requests.push({ authorized, service: url.searchParams.get('service') ?? undefined, scopes, authorization });
    if (!authorized) {
      res.setHeader('www-authenticate', 'Basic realm="agentgate-test-token-issuer"');
      sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] });
      return;
    }
    const access = scopes.map((s) => {
      // `repository:acme/app:pull,push` (the name may not hold ':'), `registry:catalog:*`.
      const first = s.indexOf(':');
      const last = s.lastIndexOf(':');
      return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',') };
    });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = opts.expiresIn ?? 300;
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
      .setIssuer(issuer)
      .setSubject(opts.username)
      .setAudience(service)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + expiresIn)
      .setJti(randomUUID())
      .sign(key);
    sendJson(res, 200, { token, access_token: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() });
  };
  const { server, url } = await listenLoopback((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: 'token issuer failed' }] });
    });
  });
  return {
    realm: `${url}/token`,
    service,
    issuer,
    rootCertBundle: certFile,
    requests,
    async close() {
      await closeServer(server);
      tmp.cleanup();
    },
  };
}
