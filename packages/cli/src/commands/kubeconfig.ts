import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';
import { gatewayBase, gatewayUrl } from '../lib/gateway-url.js';
import type { ExitCode, Output } from '../lib/output.js';
import { jwtExpiry } from '../lib/jwt.js';
import { type KubeUser, renderKubeconfig } from '../lib/kubeconfig-yaml.js';
import { COMMAND_USAGE } from '../lib/usage.js';

const USAGE = COMMAND_USAGE.kubeconfig;

/** Refusals of the plugin (no token, expired token); runCli prints `code: message`, exit 1. */
export class KubeconfigCommandError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'KubeconfigCommandError';
    this.code = code;
  }
}

// Connection names are slugs; the check keeps a typo from producing a kubeconfig for another path.
const SLUG = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * `agentgate kubeconfig`: prints a kubeconfig for a kubernetes connection
 * (server `<gateway>/<connection>`) whose user runs this CLI as an exec
 * credential plugin, so kubectl always presents the current CI token;
 * `agentgate kubeconfig token` is that plugin.
 */
export async function kubeconfig(args: string[], io: Output, env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  if (args[0] === 'token') return execCredential(args.slice(1), io, env);
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        connection: { type: 'string' },
        gateway: { type: 'string' },
        namespace: { type: 'string' },
        'token-file': { type: 'string' },
        'token-env': { type: 'string' },
        'certificate-authority': { type: 'string' },
        'exec-command': { type: 'string' },
        'exec-arg': { type: 'string', multiple: true },
        'static-token': { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (cause) {
    throw new CliError('ERR_CLI_USAGE', `${USAGE}\n(${(cause as Error).message})`);
  }
  const connection = values['connection'];
  if (typeof connection !== 'string' || !SLUG.test(connection))
    throw new CliError('ERR_CLI_USAGE', `--connection NAME is required (a connection name)\n${USAGE}`);
  const gateway = (values['gateway'] as string | undefined) ?? env['AGENTGATE_GATEWAY'];
  if (!gateway) throw new CliError('ERR_CLI_USAGE', `--gateway URL is required (or AGENTGATE_GATEWAY)\n${USAGE}`);
  const base = gatewayUrl(gateway);
  const tokenFile = values['token-file'] as string | undefined;
  const tokenEnv = values['token-env'] as string | undefined;
  if (tokenFile !== undefined && tokenEnv !== undefined) throw new CliError('ERR_CLI_USAGE', 'give --token-file or --token-env, not both');
  if (tokenEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv))
    throw new CliError('ERR_CLI_USAGE', '--token-env must name an environment variable');
  const server = `${gatewayBase(base)}/${connection}`;
  const context = {
    connection,
    server,
    namespace: values['namespace'] as string | undefined,
    certificateAuthority: values['certificate-authority'] as string | undefined,
  };
  let user: KubeUser;
  if (values['static-token']) {
    // The token itself in the file: for a one-off; it stops working when the token expires.
    user = { token: readToken(tokenFile, tokenEnv ?? 'AGENTGATE_TOKEN', env) };
  } else {
    const command = (values['exec-command'] as string | undefined) ?? 'agentgate';
    const args = [
      ...((values['exec-arg'] as string[] | undefined) ?? []),
      'kubeconfig',
      'token',
      ...(tokenFile ? ['--token-file', tokenFile] : ['--token-env', tokenEnv ?? 'AGENTGATE_TOKEN']),
    ];
    user = { exec: { command, args, installHint: 'agentgate is the CLI of the gateway (npm run agentgate, or the agentgate binary of the release)' } };
  }
  io.out(renderKubeconfig([context], user).trimEnd());
  return 0;
}

function readToken(file: string | undefined, envName: string, env: NodeJS.ProcessEnv): string {
  let token: string | undefined;
  if (file !== undefined) {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new KubeconfigCommandError('ERR_TOKEN_UNAVAILABLE', `cannot read the token file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else token = env[envName]?.trim();
  if (!token) throw new KubeconfigCommandError('ERR_TOKEN_UNAVAILABLE', file !== undefined ? `the token file ${file} is empty` : `${envName} is not set`);
  if (/\s/.test(token)) throw new KubeconfigCommandError('ERR_TOKEN_UNAVAILABLE', 'the token holds whitespace: not a token');
  return token;
}

/**
 * The exec credential plugin: prints an `ExecCredential` with the current
 * token and, for a JWT, its expiry less 30 s, so kubectl asks again before
 * the gateway would refuse it. An expired token is an error (exit 1) rather
 * than a credential kubectl would send only to be refused.
 */
function execCredential(args: string[], io: Output, env: NodeJS.ProcessEnv): ExitCode {
  let values: { 'token-file'?: string | undefined; 'token-env'?: string | undefined };
  try {
    ({ values } = parseArgs({ args, options: { 'token-file': { type: 'string' }, 'token-env': { type: 'string' } }, strict: true }));
  } catch (cause) {
    throw new CliError('ERR_CLI_USAGE', `${USAGE}\n(${(cause as Error).message})`);
  }
  const token = readToken(values['token-file'], values['token-env'] ?? 'AGENTGATE_TOKEN', env);
  const exp = jwtExpiry(token);
  const now = Date.now() / 1000;
  if (exp !== undefined && exp <= now)
    throw new KubeconfigCommandError('ERR_TOKEN_EXPIRED', 'the CI token has expired: refresh it (the CI step that writes the token file)');
  const expiration = exp !== undefined ? new Date(Math.max(now + 1, exp - 30) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
  io.out(
    JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token, ...(expiration && { expirationTimestamp: expiration }) },
    }),
  );
  return 0;
}
