import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { jwtExpiry } from '../lib/jwt.js';

/** Where the CI token comes from. */
export type TokenSourceKind = 'github' | 'gitlab' | 'env' | 'file';

/** A token source as configured (flags, else environment). */
export interface TokenSource {
  readonly kind: TokenSourceKind;
  /** `gitlab`/`env`: the variable holding the token. */
  readonly variable?: string;
  /** `file`: the file holding the token (read at every call, so something else may refresh it). */
  readonly file?: string;
  readonly audience: string;
}

/** A failure to obtain a token; runCli prints `code: message` (exit 1). The message never holds a token. */
export class CiTokenError extends Error {
  readonly code: 'ERR_CI_TOKEN_UNAVAILABLE' | 'ERR_CI_TOKEN_REQUEST' | 'ERR_CI_TOKEN_EXPIRED';
  constructor(code: CiTokenError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CiTokenError';
    this.code = code;
  }
}

/** The default variable of a GitLab `id_tokens:` entry in the agentgate template. */
export const GITLAB_TOKEN_VAR = 'AGENTGATE_ID_TOKEN';
/** The default variable of the `env` source. */
export const ENV_TOKEN_VAR = 'AGENTGATE_CI_TOKEN';

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The source the environment points at when none is named: the Actions runtime, a GitLab id token, a token file, a token variable. */
export function detectSource(env: NodeJS.ProcessEnv, audience: string): TokenSource | undefined {
  if (env['ACTIONS_ID_TOKEN_REQUEST_URL'] && env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']) return { kind: 'github', audience };
  if (env['GITLAB_CI'] && env[GITLAB_TOKEN_VAR]) return { kind: 'gitlab', variable: GITLAB_TOKEN_VAR, audience };
  if (env['AGENTGATE_CI_TOKEN_FILE']) return { kind: 'file', file: env['AGENTGATE_CI_TOKEN_FILE'], audience };
  if (env[ENV_TOKEN_VAR]) return { kind: 'env', variable: ENV_TOKEN_VAR, audience };
  return undefined;
}

/** Checks a named source's settings; throws a message for the usage error. */
export function sourceFrom(kind: string, o: { variable?: string | undefined; file?: string | undefined; audience: string }): TokenSource {
  if (kind === 'github') return { kind, audience: o.audience };
  if (kind === 'gitlab' || kind === 'env') {
    const variable = o.variable ?? (kind === 'gitlab' ? GITLAB_TOKEN_VAR : ENV_TOKEN_VAR);
    if (!VAR_NAME.test(variable)) throw new Error('--var must name an environment variable');
    return { kind, variable, audience: o.audience };
  }
  if (kind === 'file') {
    if (!o.file) throw new Error('--source file needs --file PATH');
    return { kind, file: o.file, audience: o.audience };
  }
  throw new Error(`--source must be github, gitlab, env or file (not "${kind}")`);
}

// A token is one line of visible ASCII (a JWT): anything else from a source is refused rather than sent in a header.
const TOKEN_SHAPE = /^[A-Za-z0-9\-._~+/]+=*$/;

function checked(token: string | undefined, where: string): string {
  const t = token?.trim();
  if (!t) throw new CiTokenError('ERR_CI_TOKEN_UNAVAILABLE', `${where} holds no token`);
  if (!TOKEN_SHAPE.test(t) || t.length > 16 * 1024) throw new CiTokenError('ERR_CI_TOKEN_UNAVAILABLE', `${where} does not hold a token (a JWT)`);
  return t;
}

/**
 * Asks the GitHub Actions runtime for an OIDC token with the gateway's
 * audience: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud>` with the
 * request token as bearer; the answer's `value` is the JWT. Needs
 * `permissions: id-token: write` on the job (else the variables are unset).
 */
async function fromActionsRuntime(env: NodeJS.ProcessEnv, audience: string): Promise<string> {
  const url = env['ACTIONS_ID_TOKEN_REQUEST_URL'];
  const bearer = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
  if (!url || !bearer) {
    throw new CiTokenError(
      'ERR_CI_TOKEN_UNAVAILABLE',
      'ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: give the job `permissions: id-token: write`',
    );
  }
  const target = `${url}${url.includes('?') ? '&' : '?'}audience=${encodeURIComponent(audience)}`;
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 500 * attempt));
    try {
      const res = await fetch(target, {
        headers: { authorization: `Bearer ${bearer}`, accept: 'application/json; api-version=2.0' },
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status >= 500) {
        last = new Error(`status ${res.status}`);
        continue;
      }
      if (!res.ok) throw new CiTokenError('ERR_CI_TOKEN_REQUEST', `the Actions runtime refused the token request (HTTP ${res.status})`);
      const body = (await res.json().catch(() => undefined)) as { value?: unknown } | undefined;
      return checked(typeof body?.value === 'string' ? body.value : undefined, "the Actions runtime's answer");
    } catch (err) {
      if (err instanceof CiTokenError) throw err;
      last = err;
    }
  }
  throw new CiTokenError('ERR_CI_TOKEN_REQUEST', `the Actions runtime did not answer the token request (${(last as Error)?.message ?? 'error'})`, {
    cause: last,
  });
}

/** Reads the token from its source (a fresh one from the Actions runtime). */
export async function fetchToken(src: TokenSource, env: NodeJS.ProcessEnv): Promise<string> {
  switch (src.kind) {
    case 'github':
      return fromActionsRuntime(env, src.audience);
    case 'gitlab':
    case 'env':
      return checked(env[src.variable as string], `$${src.variable}`);
    case 'file': {
      let text: string;
      try {
        text = readFileSync(src.file as string, 'utf8');
      } catch (err) {
        throw new CiTokenError('ERR_CI_TOKEN_UNAVAILABLE', `cannot read the token file ${src.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      return checked(text, `the token file ${src.file}`);
    }
  }
}

/** Options of {@link currentToken}. */
export interface CurrentTokenOptions {
  /** Cache file (0600) shared by every helper of one `ci env` configuration; undefined = no cache. */
  cache?: string | undefined;
  /** A cached token closer to its expiry than this many seconds is replaced. */
  refreshBefore: number;
  now?: () => number;
}

/**
 * The token to present now: the cached one while it has more than
 * `refreshBefore` seconds left, else a new one from the source (cached
 * again, atomically). Sources that cannot mint a new token (a GitLab id
 * token, a variable) are read again; an expired token is an error rather
 * than a request the gateway would refuse. Returns whether it is new (to
 * mask it in a GitHub Actions log).
 */
export async function currentToken(
  src: TokenSource,
  env: NodeJS.ProcessEnv,
  o: CurrentTokenOptions,
): Promise<{ token: string; fresh: boolean; expiresAt: number | undefined }> {
  const now = (o.now ?? (() => Date.now() / 1000))();
  if (o.cache) {
    const cached = readCache(o.cache);
    const exp = cached ? jwtExpiry(cached) : undefined;
    if (cached && exp !== undefined && exp - now > o.refreshBefore) return { token: cached, fresh: false, expiresAt: exp };
  }
  const token = await fetchToken(src, env);
  const exp = jwtExpiry(token);
  if (exp !== undefined && exp <= now) {
    throw new CiTokenError(
      'ERR_CI_TOKEN_EXPIRED',
      `the token from ${describe(src)} has expired${src.kind === 'github' ? '' : ' and this source cannot mint a new one'}`,
    );
  }
  if (o.cache) writeCache(o.cache, token);
  return { token, fresh: true, expiresAt: exp };
}

/** Drops the cached token (git's `erase` after a refusal): the next call asks the source. */
export function dropCache(cache: string | undefined): void {
  if (cache) rmSync(cache, { force: true });
}

function describe(src: TokenSource): string {
  return src.kind === 'github' ? 'the Actions runtime' : src.kind === 'file' ? `the file ${src.file}` : `$${src.variable}`;
}

function readCache(file: string): string | undefined {
  try {
    const t = readFileSync(file, 'utf8').trim();
    return TOKEN_SHAPE.test(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(file: string, token: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Written aside and renamed: concurrent helpers (git, kubectl, docker at once) never read half a token.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
