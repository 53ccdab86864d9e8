import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';
import type { ExitCode, Output } from '../lib/output.js';
import { type CurrentTokenOptions, currentToken, detectSource, dropCache, sourceFrom, type TokenSource } from './ci-source.js';

export const CI_TOKEN_USAGE = [
  'usage: agentgate ci token [--audience AUD] [--source github|gitlab|env|file] [--var NAME] [--file PATH]',
  '                          [--cache FILE] [--refresh-before SECONDS] [--gateway URL]',
  '                          [--format raw|json|git-credential|docker-credential|exec-credential] [ACTION]',
  '  prints the CI OIDC token for the gateway (audience default $AGENTGATE_AUDIENCE, else agentgate)',
  '  source: the GitHub Actions runtime (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN), a GitLab id_tokens variable',
  '  (default AGENTGATE_ID_TOKEN), a variable (default AGENTGATE_CI_TOKEN) or a file; found from the environment when not given',
  '  --cache: reuse the token until it is within --refresh-before seconds (default 120) of its expiry',
  '  formats: raw (the token), json, and the helper protocols that `agentgate ci env` configures:',
  '  git-credential get|store|erase, docker-credential get|list|store|erase, exec-credential (kubectl)',
  '  in GitHub Actions a raw token is announced for masking (::add-mask:: on stderr)',
].join('\n');

const FORMATS = ['raw', 'json', 'git-credential', 'docker-credential', 'exec-credential'] as const;
type Format = (typeof FORMATS)[number];

/** The user name the helpers present (the gateway ignores it: the password is the token). */
export const HELPER_USER = 'agentgate';

/** What `ci token` reads from outside its arguments (injectable in tests). */
export interface CiTokenIo {
  env: NodeJS.ProcessEnv;
  /** The helper protocols' request on stdin (git, docker). */
  stdin(): Promise<string>;
}

export const processIo = (): CiTokenIo => ({
  env: process.env,
  async stdin() {
    if (process.stdin.isTTY) return '';
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
});

/** Token source and cache settings shared by `ci token` and `ci env` (the flags, else the environment). */
export const SOURCE_OPTIONS = {
  audience: { type: 'string' },
  source: { type: 'string' },
  var: { type: 'string' },
  file: { type: 'string' },
  cache: { type: 'string' },
  'refresh-before': { type: 'string' },
  gateway: { type: 'string' },
} as const;

export interface SourceSettings {
  source: TokenSource;
  cache: CurrentTokenOptions;
}

/** Resolves the source flags (usage errors name the flag). */
export function sourceSettings(values: Record<string, unknown>, env: NodeJS.ProcessEnv, usage: string): SourceSettings {
  const audience = (values['audience'] as string | undefined) ?? env['AGENTGATE_AUDIENCE'] ?? 'agentgate';
  if (!/^[\x21-\x7e]{1,512}$/.test(audience)) throw new CliError('ERR_CLI_USAGE', `--audience must be visible ASCII\n${usage}`);
  const kind = (values['source'] as string | undefined) ?? env['AGENTGATE_CI_SOURCE'];
  let source: TokenSource | undefined;
  try {
    source = kind
      ? sourceFrom(kind, {
          variable: values['var'] as string | undefined,
          file: (values['file'] as string | undefined) ?? env['AGENTGATE_CI_TOKEN_FILE'],
          audience,
        })
      : detectSource(env, audience);
  } catch (err) {
    throw new CliError('ERR_CLI_USAGE', `${(err as Error).message}\n${usage}`);
  }
  if (!source) {
    throw new CliError(
      'ERR_CLI_USAGE',
      `no token source: not in GitHub Actions with id-token: write, no GitLab ${'AGENTGATE_ID_TOKEN'}, no AGENTGATE_CI_TOKEN_FILE or AGENTGATE_CI_TOKEN; name one with --source\n${usage}`,
    );
  }
  const rb = (values['refresh-before'] as string | undefined) ?? env['AGENTGATE_CI_REFRESH_BEFORE'] ?? '120';
  if (!/^\d{1,6}$/.test(rb)) throw new CliError('ERR_CLI_USAGE', `--refresh-before must be a number of seconds\n${usage}`);
  const cache = (values['cache'] as string | undefined) ?? env['AGENTGATE_CI_CACHE'];
  return { source, cache: { cache, refreshBefore: Number(rb) } };
}

/**
 * `agentgate ci token`: the CI token for the gateway, raw or in a helper
 * protocol. The helpers answer only for the gateway's own origin
 * (`--gateway`), so a misplaced helper never hands the token to another host.
 */
export async function ciToken(args: string[], out: Output, io: CiTokenIo = processIo()): Promise<ExitCode> {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { ...SOURCE_OPTIONS, format: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new CliError('ERR_CLI_USAGE', `${(cause as Error).message}\n${CI_TOKEN_USAGE}`, { cause });
  }
  const { values, positionals } = parsed;
  const format = ((values['format'] as string | undefined) ?? 'raw') as Format;
  if (!FORMATS.includes(format)) throw new CliError('ERR_CLI_USAGE', `--format must be one of ${FORMATS.join(', ')}\n${CI_TOKEN_USAGE}`);
  const helper = format === 'git-credential' || format === 'docker-credential';
  if (positionals.length > (helper ? 1 : 0)) throw new CliError('ERR_CLI_USAGE', `unexpected argument "${positionals[helper ? 1 : 0]}"\n${CI_TOKEN_USAGE}`);
  const action = positionals[0] ?? 'get';
  const gateway = (values['gateway'] as string | undefined) ?? io.env['AGENTGATE_GATEWAY'];
  const settings = sourceSettings(values, io.env, CI_TOKEN_USAGE);

  if (format === 'git-credential') return gitCredential(action, gateway, settings, out, io);
  if (format === 'docker-credential') return dockerCredential(action, gateway, settings, out, io);
  const t = await currentToken(settings.source, io.env, settings.cache);
  if (format === 'exec-credential') {
    out.out(JSON.stringify(execCredential(t.token, t.expiresAt, io.env)));
    return 0;
  }
  if (format === 'json') {
    out.out(JSON.stringify({ token: t.token, ...(t.expiresAt !== undefined && { expiresAt: new Date(t.expiresAt * 1000).toISOString() }) }));
    return 0;
  }
  // The runner reads workflow commands from a step's stderr too: the token is masked before it appears on stdout.
  if (io.env['GITHUB_ACTIONS'] === 'true') out.err(`::add-mask::${t.token}`);
  out.out(t.token);
  return 0;
}

/** `key=value` lines of git's credential protocol. */
function credentialRequest(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) m.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return m;
}

function originOf(gateway: string | undefined): URL | undefined {
  if (!gateway) return undefined;
  try {
    return new URL(gateway);
  } catch {
    throw new CliError('ERR_CLI_USAGE', '--gateway must be an http(s) URL');
  }
}

/** git's credential helper protocol (`get`, `store`, `erase`): the token as password for the gateway, nothing for any other host. */
async function gitCredential(action: string, gateway: string | undefined, s: SourceSettings, out: Output, io: CiTokenIo): Promise<ExitCode> {
  const req = credentialRequest(await io.stdin());
  const gw = originOf(gateway);
  const forGateway = !gw || (req.get('protocol') === gw.protocol.replace(/:$/, '') && req.get('host') === gw.host);
  if (action === 'erase') {
    // git erases after the gateway refused the credential: the next attempt gets a fresh token.
    if (forGateway) dropCache(s.cache.cache);
    return 0;
  }
  if (action !== 'get' || !forGateway) return 0;
  const t = await currentToken(s.source, io.env, s.cache);
  out.out(`username=${HELPER_USER}\npassword=${t.token}`);
  return 0;
}

/** Docker's credential helper protocol (`docker-credential-<name> get|list|store|erase`). */
async function dockerCredential(action: string, gateway: string | undefined, s: SourceSettings, out: Output, io: CiTokenIo): Promise<ExitCode> {
  const input = (await io.stdin()).trim();
  const gw = originOf(gateway);
  if (action === 'list') {
    out.out(JSON.stringify(gw ? { [gw.host]: HELPER_USER } : {}));
    return 0;
  }
  if (action !== 'get') return 0;
  const host = input.includes('://') ? safeHost(input) : input.replace(/\/.*$/, '');
  if (gw && host !== gw.host) {
    // Docker's own words for "no credential here": it then tries anonymous access.
    out.out('credentials not found in native keychain');
    return 1;
  }
  const t = await currentToken(s.source, io.env, s.cache);
  out.out(JSON.stringify({ ServerURL: input, Username: HELPER_USER, Secret: t.token }));
  return 0;
}

function safeHost(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/**
 * A kubectl `ExecCredential` (the version kubectl asked for in
 * KUBERNETES_EXEC_INFO, else v1). It expires 30 s before the token, so
 * kubectl asks again in time; the cache decides when a new token is fetched.
 */
export function execCredential(token: string, expiresAt: number | undefined, env: NodeJS.ProcessEnv): Record<string, unknown> {
  let apiVersion = 'client.authentication.k8s.io/v1';
  try {
    const info = JSON.parse(env['KUBERNETES_EXEC_INFO'] ?? '{}') as { apiVersion?: unknown };
    if (typeof info.apiVersion === 'string' && /^client\.authentication\.k8s\.io\/v1(beta1)?$/.test(info.apiVersion)) apiVersion = info.apiVersion;
  } catch {
    // No or bad exec info: v1.
  }
  const status: Record<string, string> = { token };
  if (expiresAt !== undefined) status['expirationTimestamp'] = new Date((expiresAt - 30) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { apiVersion, kind: 'ExecCredential', status };
}
