import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

/**
 * The demo's local OIDC issuer of CI-style tokens: a discovery document, a
 * JWKS and RS256 tokens shaped like GitHub Actions'. It lives in the CLI (not
 * the testkit) because `agentgate demo` ships in the runtime image, which must
 * not carry test dependencies; it uses only `jose`. It is a demo issuer: its
 * optional token endpoint mints a token for anyone who can reach it, so it is
 * only ever published on loopback.
 */

/** Options of startDemoIssuer. */
export interface DemoIssuerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** The `iss` of the tokens and the discovery base (default: the listening URL). */
  issuerUrl?: string;
  /** A private JWK file; created when absent, so tokens stay valid across restarts. Default: a key in memory. */
  keyFile?: string;
  /** Serve `POST /token` (JSON claims in, `{"value": token}` out). Default false. */
  tokenEndpoint?: boolean;
}

/** A running demo issuer. */
export interface DemoIssuer {
  /** The `iss` of minted tokens. */
  readonly issuer: string;
  /** Where it listens (may differ from `issuer` behind a container name). */
  readonly url: string;
  /** Signs a token with these claims (`iss`, `aud`, `iat`, `exp` added). */
  mint(claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

const AUDIENCE = 'agentgate';
const MAX_BODY = 8 * 1024;

/** Claims shaped like a GitHub Actions OIDC token for `repository`, run `runId`, started by `actor`. */
export function demoClaims(o: { repository: string; runId: string; actor: string }): Record<string, string> {
  const ref = 'refs/heads/main';
  return {
    sub: `repo:${o.repository}:ref:${ref}`,
    repository: o.repository,
    repository_owner: o.repository.split('/')[0] ?? o.repository,
    ref,
    ref_type: 'branch',
    run_id: o.runId,
    run_attempt: '1',
    actor: o.actor,
    workflow: 'agent',
    event_name: 'push',
  };
}

async function loadKey(file: string | undefined): Promise<{ key: CryptoKey; publicJwk: JWK }> {
  let jwk: JWK;
  if (file && existsSync(file)) {
    jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } else {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    jwk = { ...(await exportJWK(privateKey)), kid: `demo-${Date.now().toString(36)}`, alg: 'RS256' };
    if (file) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
    }
  }
  const key = (await importJWK(jwk, 'RS256')) as CryptoKey;
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return { key, publicJwk: { ...pub, alg: 'RS256', use: 'sig' } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a small JSON object of string claims; undefined when it is anything else. */
async function readClaims(req: IncomingMessage): Promise<Record<string, string> | undefined> {
  let raw = '';
  for await (const chunk of req) {
    raw += String(chunk);
    if (raw.length > MAX_BODY) return undefined;
  }
  try {
    const body = JSON.parse(raw || '{}') as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    if (!Object.values(body).every((v) => typeof v === 'string')) return undefined;
    return body as Record<string, string>;
  } catch {
    return undefined;
  }
}

/** Starts the demo issuer (see the module comment). */
export async function startDemoIssuer(opts: DemoIssuerOptions = {}): Promise<DemoIssuer> {
  const { key, publicJwk } = await loadKey(opts.keyFile);
  let issuer = opts.issuerUrl ?? '';
  const mint = async (claims: Record<string, unknown>): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: publicJwk.kid ?? 'demo', typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(key);
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      send(res, 200, {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (req.method === 'GET' && path === '/jwks') {
      send(res, 200, { keys: [publicJwk] });
    } else if (req.method === 'GET' && path === '/healthz') {
      send(res, 200, { ok: true });
    } else if (opts.tokenEndpoint && req.method === 'POST' && path === '/token') {
      readClaims(req)
        .then(async (claims) => {
          if (!claims) return send(res, 400, { error: `the body must be a JSON object of string claims (at most ${MAX_BODY} bytes)` });
          const { iss: _i, aud: _a, exp: _e, iat: _t, ...rest } = claims;
          send(res, 200, { value: await mint(rest) });
        })
        .catch(() => send(res, 500, { error: 'could not sign' }));
    } else {
      send(res, 404, { error: 'not found' });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'}:${port}`;
  issuer ||= url;
  return {
    issuer,
    url,
    mint,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
