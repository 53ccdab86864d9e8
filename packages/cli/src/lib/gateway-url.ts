import { CliError } from '../errors.js';

/**
 * The gateway's URL from `--gateway` (or `AGENTGATE_GATEWAY`).
 * @throws CliError `ERR_CLI_USAGE` unless it is an http(s) URL.
 */
export function gatewayUrl(gateway: string): URL {
  let base: URL;
  try {
    base = new URL(gateway);
  } catch {
    throw new CliError('ERR_CLI_USAGE', '--gateway must be an http(s) URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new CliError('ERR_CLI_USAGE', '--gateway must be an http(s) URL');
  return base;
}

/** The gateway's origin and path without trailing slashes: what the gateway's own paths are appended to. */
export function gatewayBase(gateway: URL): string {
  return `${gateway.origin}${gateway.pathname.replace(/\/+$/, '')}`;
}
