import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from 'jose';
import { type ActionsRuntime, type ActionsRuntimeOptions, actionsRuntime } from './actions-runtime.js';
import { GITHUB_ACTIONS_ISSUER, githubClaims } from './claims.js';
import { closeServer, listenLoopback, sendJson } from './lib-http.js';
import { rawSignCompact } from './raw-sign.js';

/** Asymmetric algorithms the local CI issuer can sign with. */
export type CiIssuerAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

export interface CiIssuerOptions {
  /** Signing algorithm of the published keys (default RS256). */
  alg?: CiIssuerAlg;
  /** Default `aud` of minted tokens (default `agentgate`). */
  audience?: string;
  /** Also serve tokens the way the GitHub Actions runtime does (see actions-runtime.ts); claims default to githubClaims(). */
  actionsRuntime?: Partial<ActionsRuntimeOptions>;
}

export interface MintOptions {
  /** Header `alg`. `none` gives an unsecured token; `HS256`/`HS384`/`HS512` sign with the issuer's public key (SPKI PEM) as the HMAC secret — the classic key-confusion attack. */
  alg?: string;
  /** Header `kid` (default: the current key's kid); `null` leaves it out. A kid of a published key also selects that key for signing. */
  kid?: string | null;
  /** `exp` = now + this many seconds (default 600; negative for expired tokens). */
  expiresIn?: number;
  /** `nbf` = now + this many seconds (left out unless given). */
  notBefore?: number;
  /** `iat` = now + this many seconds (default 0). */
  issuedAt?: number;
  /** Overrides `iss` (default: this issuer). */
  issuer?: string;
  /** Overrides `aud` (default: the issuer's audience). */
  audience?: string | string[];
  /** Extra protected header fields (crit, jku, x5u, jwk …). */
  header?: Record<string, unknown>;
  /** Sign with a key that is never published (same alg), e.g. to test signatures by a different key. */
  signWith?: 'foreign' | CryptoKey;
}

/** A local OIDC issuer of CI-style tokens: discovery document, JWKS and a minting function. */
export interface CiIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly audience: string;
  readonly alg: CiIssuerAlg;
  /** kid of the key new tokens are signed with. */
  readonly currentKid: string;
  /** Requests served on the JWKS endpoint (also counted while down). */
  readonly jwksRequests: number;
  readonly discoveryRequests: number;
  /** Public JWKs currently published. */
  publishedKeys(): JWK[];
  mint(claims: Record<string, unknown>, opts?: MintOptions): Promise<string>;
  /** Creates a new signing key, publishes it first and keeps the old ones published until `retireOldKeys()`. */
  rotateKey(): Promise<string>;
  /** Unpublishes every key but the current one. */
  retireOldKeys(): void;
  /** While down, the JWKS endpoint answers 503. */
  setDown(down: boolean): void;
  /** The Actions-runtime token endpoint, when asked for with `actionsRuntime`. */
  readonly actions: ActionsRuntime | undefined;
  close(): Promise<void>;
}

interface IssuerKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

let kidCounter = 0;

async function newKey(alg: CiIssuerAlg, prefix: string): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  kidCounter += 1;
  const kid = `${prefix}-${Date.now().toString(36)}-${kidCounter}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, privateKey, publicKey, publicJwk };
}

/**
 * Starts a CI token issuer on a free loopback port, serving
 * `/.well-known/openid-configuration` and `/jwks`. The issuer URL is the
 * loopback base URL; tokens that must look like GitHub's can still carry
 * {@link GITHUB_ACTIONS_ISSUER} via `mint(…, { issuer })`.
 */
export async function startCiIssuer(opts: CiIssuerOptions = {}): Promise<CiIssuer> {
  const alg = opts.alg ?? 'RS256';
  const audience = opts.audience ?? 'agentgate';
  let keys: IssuerKey[] = [await newKey(alg, 'ci')];
  let foreign: IssuerKey | undefined;
  let down = false;
  let jwksRequests = 0;
  let discoveryRequests = 0;
  let issuer = '';
  let mintFn: CiIssuer['mint'] | undefined;
  const actions = opts.actionsRuntime
    ? actionsRuntime(
        () => issuer,
        (claims, m) => (mintFn as CiIssuer['mint'])(claims, m),
        { claims: () => githubClaims(), ...opts.actionsRuntime },
      )
    : undefined;

  const { server, url } = await listenLoopback((req, res) => {
    if (actions?.handle(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/.well-known/openid-configuration') {
      discoveryRequests += 1;
      sendJson(res, 200, {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [alg],
        claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'nbf', 'jti'],
      });
      return;
    }
    if (path === '/jwks') {
      jwksRequests += 1;
      if (down) {
        sendJson(res, 503, { error: 'unavailable' });
        return;
      }
      sendJson(res, 200, { keys: keys.map((k) => k.publicJwk) });
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  });
  issuer = url;

  const current = (): IssuerKey => keys[0] as IssuerKey;

  const api: CiIssuer = {
    issuer,
    jwksUri: `${issuer}/jwks`,
    audience,
    alg,
    get currentKid() {
      return current().kid;
    },
    get jwksRequests() {
      return jwksRequests;
    },
    get discoveryRequests() {
      return discoveryRequests;
    },
    publishedKeys: () => keys.map((k) => ({ ...k.publicJwk })),
    async mint(claims, m = {}) {
      const now = Math.floor(Date.now() / 1000);
      const body: Record<string, unknown> = {
        iat: now + (m.issuedAt ?? 0),
        exp: now + (m.expiresIn ?? 600),
        ...claims,
        iss: m.issuer ?? issuer,
        aud: m.audience ?? audience,
      };
      if (m.notBefore !== undefined) body['nbf'] = now + m.notBefore;
      const headerAlg = m.alg ?? alg;
      const kid = m.kid === null ? undefined : (m.kid ?? current().kid);
      const header: Record<string, unknown> = { typ: 'JWT', ...(kid ? { kid } : {}), ...m.header, alg: headerAlg };
      if (headerAlg === 'none') return new UnsecuredJWT(body).encode();
      if (headerAlg.startsWith('HS')) {
        // Key confusion: the attacker knows the public key and uses its PEM as the HMAC secret.
        const secret = new TextEncoder().encode(await exportSPKI(current().publicKey));
        return new SignJWT(body).setProtectedHeader(header as { alg: string }).sign(secret);
      }
      // A kid naming a published key signs with that key (tokens of a key that is being rotated out).
      let key = (keys.find((k) => k.kid === m.kid) ?? current()).privateKey;
      if (m.signWith === 'foreign') {
        foreign ??= await newKey(alg, 'foreign');
        key = foreign.privateKey;
      } else if (m.signWith) {
        key = m.signWith;
      }
      if (header['crit'] !== undefined) return rawSignCompact(header, body, key);
      return new SignJWT(body).setProtectedHeader(header as { alg: string }).sign(key);
    },
    async rotateKey() {
      const next = await newKey(alg, 'ci');
      // The new key is published before anything is signed with it, so verifiers can fetch it on first sight.
      keys = [next, ...keys];
      return next.kid;
    },
    retireOldKeys() {
      keys = [current()];
    },
    setDown(value) {
      down = value;
    },
    actions: actions?.runtime,
    close: () => closeServer(server),
  };
  mintFn = api.mint;
  return api;
}

export { GITHUB_ACTIONS_ISSUER };
