import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { closeServer, listenLoopback } from './lib-http.js';

/** The part of oidc-provider's API used here (the package ships no types). */
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}
type ProviderCtor = new (issuer: string, config: Record<string, unknown>) => ProviderInstance;

// A non-literal specifier keeps TypeScript from demanding declarations the package does not ship.
const OIDC_PROVIDER_MODULE: string = 'oidc-provider';

export interface OidcProviderOptions {
  /** `aud` of issued access tokens (the resource indicator), default `agentgate`. */
  audience?: string;
  /** Client of the client_credentials grant (default `ci-runner` / a random secret). */
  clientId?: string;
  /** Extra claims put into every access token (e.g. `{ groups: ['ci'] }`). */
  extraClaims?: Record<string, unknown>;
  /** Access token lifetime in seconds (default 600). */
  accessTokenTtl?: number;
  /**
   * Interactive logins for a web application (authorization code + PKCE, a
   * public client): oidc-provider's own login and consent pages, where any
   * password is accepted for a login name in `accounts`. Each account's
   * claims go into its ID token (scopes `openid profile groups`).
   */
  login?: { clientId: string; redirectUris: string[]; accounts: Record<string, Record<string, unknown>> };
}

/** A real oidc-provider instance on loopback, issuing JWT access tokens non-interactively. */
export interface OidcProvider {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly audience: string;
  readonly clientId: string;
  /** kid new tokens are signed with. */
  readonly currentKid: string;
  readonly jwksRequests: number;
  /** Obtains a JWT access token with the client_credentials grant at the token endpoint. */
  getToken(extraClaims?: Record<string, unknown>): Promise<string>;
  /** Restarts the provider (same port, same issuer) with a new signing key first and the old keys still published. */
  rotateKey(): Promise<string>;
  /** Restarts the provider publishing only the current key. */
  retireOldKeys(): Promise<void>;
  close(): Promise<void>;
}

interface ProviderKey {
  kid: string;
  privateJwk: JWK;
}

let counter = 0;

async function newKey(): Promise<ProviderKey> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  counter += 1;
  const kid = `op-${Date.now().toString(36)}-${counter}`;
  return { kid, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' } };
}

/**
 * Starts a real `oidc-provider` (v9) on a free loopback port with the
 * client_credentials grant and resource indicators, so `getToken()` returns an
 * RS256 JWT access token for `audience` — no browser, no interaction.
 */
export async function startOidcProvider(opts: OidcProviderOptions = {}): Promise<OidcProvider> {
  const { default: Provider } = (await import(OIDC_PROVIDER_MODULE)) as { default: ProviderCtor };
  const audience = opts.audience ?? 'agentgate';
  const clientId = opts.clientId ?? 'ci-runner';
  const clientSecret = `secret-${Math.random().toString(36).slice(2)}`;
  const ttl = opts.accessTokenTtl ?? 600;
  // A resource indicator must be an absolute URI; the token's `aud` is `audience` all the same.
  const resource = `urn:agentgate:${encodeURIComponent(audience)}`;
  let keys: ProviderKey[] = [await newKey()];
  let pendingClaims: Record<string, unknown> | undefined;
  let jwksRequests = 0;

  const build = (issuer: string): ProviderInstance => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          scope: 'ci',
        },
        ...(opts.login
          ? [
              {
                client_id: opts.login.clientId,
                token_endpoint_auth_method: 'none',
                grant_types: ['authorization_code'],
                response_types: ['code'],
                redirect_uris: opts.login.redirectUris,
                scope: 'openid profile groups',
              },
            ]
          : []),
      ],
      scopes: ['ci', ...(opts.login ? ['openid', 'profile', 'groups'] : [])],
      ...(opts.login && {
        claims: { openid: ['sub'], profile: ['preferred_username', 'name', 'email'], groups: ['groups'] },
        // The console reads groups from the ID token; by default they would only be at the userinfo endpoint.
        conformIdTokenClaims: false,
        findAccount: (_ctx: unknown, id: string) => {
          const claims = opts.login?.accounts[id];
          // Unknown login names still sign in (the dev login page accepts anything) but carry no groups.
          return { accountId: id, claims: async () => ({ sub: id, preferred_username: id, ...claims }) };
        },
      }),
      jwks: { keys: keys.map((k) => k.privateJwk) },
      cookies: { keys: ['testkit-cookie-key'] },
      ttl: { ClientCredentials: ttl },
      features: {
        // The login and consent pages of oidc-provider itself, for interactive logins only.
        devInteractions: { enabled: opts.login !== undefined },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resource,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({
            scope: 'ci',
            audience,
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
      extraTokenClaims: () => ({ ...opts.extraClaims, ...pendingClaims }),
    });
    return provider;
  };

  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const { server, url } = await listenLoopback((req, res) => {
    if ((req.url ?? '').startsWith('/jwks')) jwksRequests += 1;
    if (!handler) {
      res.writeHead(503).end();
      return;
    }
    handler(req, res);
  });
  const issuer = url;
  // Swapping the handler is a restart that keeps the port, hence the issuer URL.
  const restart = (): void => {
    handler = build(issuer).callback();
  };
  restart();

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    audience,
    clientId,
    get currentKid() {
      return (keys[0] as ProviderKey).kid;
    },
    get jwksRequests() {
      return jwksRequests;
    },
    async getToken(extraClaims) {
      pendingClaims = extraClaims;
      try {
        const res = await fetch(`${issuer}/token`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'ci', resource }).toString(),
        });
        const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
        if (!res.ok || !body.access_token) {
          throw new Error(`oidc-provider token request failed: ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`);
        }
        return body.access_token;
      } finally {
        pendingClaims = undefined;
      }
    },
    async rotateKey() {
      const next = await newKey();
      keys = [next, ...keys];
      restart();
      return next.kid;
    },
    async retireOldKeys() {
      keys = [keys[0] as ProviderKey];
      restart();
    },
    close: () => closeServer(server),
  };
}
