import type { Config } from '@agentgate/config';

type ConsoleConfig = NonNullable<Config['console']>;
import * as client from 'openid-client';
import type { OwnSecrets } from '../approvals/own-secrets.js';
import { type ConsoleUser, type LoginState, randomId } from './session.js';

/** A login that must not succeed (bad state, a refused code, an IdP that cannot be reached); the page says which. */
export class LoginError extends Error {
  override readonly name = 'LoginError';
}

const LOGIN_TTL_MS = 10 * 60_000;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * The console's OIDC client (authorization code + PKCE, with state and
 * nonce) against the configured human identity provider. Discovery runs on
 * first use and is retried after a failure, so the gateway starts even
 * while the IdP is down. Plain http is accepted for a loopback issuer only
 * (a local trial, tests).
 */
export class ConsoleOidc {
  readonly #cfg: ConsoleConfig;
  readonly #secrets: OwnSecrets;
  #discovered: Promise<client.Configuration> | undefined;

  constructor(cfg: ConsoleConfig, secrets: OwnSecrets) {
    this.#cfg = cfg;
    this.#secrets = secrets;
  }

  async #config(): Promise<client.Configuration> {
    this.#discovered ??= this.#discover();
    try {
      return await this.#discovered;
    } catch (err) {
      this.#discovered = undefined;
      throw new LoginError('the identity provider cannot be reached; try again later', { cause: err });
    }
  }

  async #discover(): Promise<client.Configuration> {
    const issuer = new URL(this.#cfg.issuer);
    const secret = this.#cfg.clientSecretRef ? await this.#secrets(this.#cfg.clientSecretRef) : undefined;
    const insecure = issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname);
    return client.discovery(issuer, this.#cfg.clientId, secret, secret ? client.ClientSecretBasic(secret) : client.None(), {
      ...(insecure && { execute: [client.allowInsecureRequests] }),
      timeout: 10,
    });
  }

  /** Where to send the browser to log in, and the state to keep (sealed) until it comes back. */
  async start(returnTo: string): Promise<{ url: string; state: LoginState }> {
    const config = await this.#config();
    const verifier = client.randomPKCECodeVerifier();
    const state: LoginState = { state: client.randomState(), nonce: client.randomNonce(), verifier, returnTo, exp: Date.now() + LOGIN_TTL_MS };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.#cfg.redirectUrl,
      scope: this.#cfg.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: state.state,
      nonce: state.nonce,
    });
    return { url: url.href, state };
  }

  /** Exchanges the code (PKCE verifier, state and nonce checked) and returns the signed-in user. */
  async finish(callbackUrl: URL, st: LoginState, sessionTtlMs: number): Promise<ConsoleUser> {
    const config = await this.#config();
    let claims: Record<string, unknown> | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: st.verifier,
        expectedState: st.state,
        expectedNonce: st.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims() as Record<string, unknown> | undefined;
    } catch (err) {
      throw new LoginError('the login could not be completed (the identity provider refused it, or it was replayed or tampered with)', { cause: err });
    }
    if (!claims || typeof claims.sub !== 'string') throw new LoginError('the identity provider returned no subject');
    const raw = claims[this.#cfg.approverGroupsClaim];
    const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : typeof raw === 'string' ? [raw] : [];
    const identity: Record<string, string> = {};
    for (const [requesterClaim, loginClaim] of Object.entries(this.#cfg.identityClaims)) {
      const v = loginClaim === 'sub' ? claims.sub : claims[loginClaim];
      if ((typeof v === 'string' && v !== '') || typeof v === 'number') identity[requesterClaim] = String(v);
    }
    const name = [claims.preferred_username, claims.name, claims.email, claims.sub].find((v) => typeof v === 'string' && v !== '') as string;
    return { sid: randomId(), issuer: String(claims.iss ?? this.#cfg.issuer), subject: claims.sub, name, groups, identity, exp: Date.now() + sessionTtlMs };
  }
}
