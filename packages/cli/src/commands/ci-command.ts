import { CliError } from '../errors.js';
import type { ExitCode, Output } from '../lib/output.js';
import { CI_ENV_USAGE, ciEnv } from './ci-env.js';
import { CI_TOKEN_USAGE, ciToken } from './ci-token.js';

export const CI_USAGE = `${CI_ENV_USAGE}\n\n${CI_TOKEN_USAGE}`;

/** `agentgate ci env|token …`: a CI job's configuration for the gateway, and its token. */
export async function ci(args: string[], io: Output): Promise<ExitCode> {
  const [sub, ...rest] = args;
  if (sub === 'env') return ciEnv(rest, io);
  if (sub === 'token') return ciToken(rest, io);
  throw new CliError('ERR_CLI_USAGE', sub === undefined ? CI_USAGE : `unknown ci command "${sub}"\n${CI_USAGE}`);
}
