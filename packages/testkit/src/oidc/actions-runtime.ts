import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './lib-http.js';

/** Path of the token endpoint, shaped like the Actions runtime's (`…/_apis/distributedtask/hubs/Actions/plans/<plan>/jobs/<job>/idtoken`). */
export const ACTIONS_TOKEN_PATH =
  '/_apis/distributedtask/hubs/Actions/plans/00000000-0000-0000-0000-00000000a9e7/jobs/00000000-0000-0000-0000-0000000000b1/idtoken';

/** The job's side of the Actions runtime token service, as a workflow step sees it. */
export interface ActionsRuntime {
  /** `ACTIONS_ID_TOKEN_REQUEST_URL`: the endpoint with `?api-version=2.0` (a client appends `&audience=…`). */
  readonly requestUrl: string;
  /** `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: the bearer the endpoint requires. */
  readonly requestToken: string;
  /** Tokens handed out so far. */
  readonly requests: number;
  /** The audiences asked for, in order. */
  readonly audiences: readonly string[];
  /** The environment of a step that may request tokens (`permissions: id-token: write`). */
  env(): Record<string, string>;
}

export interface ActionsRuntimeOptions {
  /** Claims of the job's tokens (default: githubClaims()). */
  claims: () => Record<string, unknown>;
  /** Lifetime of each token in seconds (default 300). */
  expiresIn?: number;
}

/**
 * Serves OIDC tokens the way the GitHub Actions runtime does: `GET
 * <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=<aud>` with `Authorization: Bearer
 * <ACTIONS_ID_TOKEN_REQUEST_TOKEN>` answers `{"count": n, "value": "<jwt>"}`
 * (the `value` field is what @actions/core reads); without `audience` the
 * token's `aud` is `https://github.com/<repository_owner>`; a wrong bearer is
 * a 401.
 */
export function actionsRuntime(
  baseUrl: () => string,
  mint: (claims: Record<string, unknown>, opts: { audience: string; expiresIn: number }) => Promise<string>,
  o: ActionsRuntimeOptions,
): { runtime: ActionsRuntime; handle(req: IncomingMessage, res: ServerResponse): boolean } {
  const requestToken = randomBytes(24).toString('base64url');
  const audiences: string[] = [];
  let requests = 0;
  const runtime: ActionsRuntime = {
    get requestUrl() {
      return `${baseUrl()}${ACTIONS_TOKEN_PATH}?api-version=2.0`;
    },
    requestToken,
    get requests() {
      return requests;
    },
    audiences,
    env() {
      return { GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: runtime.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken };
    },
  };
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== ACTIONS_TOKEN_PATH) return false;
    if (req.headers.authorization !== `Bearer ${requestToken}`) {
      sendJson(res, 401, { message: 'Bad credentials' });
      return true;
    }
    if (url.searchParams.get('api-version') === null) {
      sendJson(res, 400, { message: 'api-version is required' });
      return true;
    }
    const claims = o.claims();
    const audience = url.searchParams.get('audience') ?? `https://github.com/${String(claims['repository_owner'] ?? '')}`;
    requests += 1;
    audiences.push(audience);
    mint(claims, { audience, expiresIn: o.expiresIn ?? 300 }).then(
      (value) => sendJson(res, 200, { count: requests, value }),
      () => sendJson(res, 500, { message: 'token could not be minted' }),
    );
    return true;
  };
  return { runtime, handle };
}
