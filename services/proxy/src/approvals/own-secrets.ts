import type { Config } from '@agentgate/config';
import { createBackends } from '@agentgate/secret-broker';

/** Reads one of the gateway's own secrets by ref; rejects with the broker's SecretError (never the value) when unavailable. */
export type OwnSecrets = (ref: string) => Promise<string>;

/**
 * The gateway's own secrets (the console's client secret and session key,
 * webhook URLs and signing keys), read through the secret broker's backends
 * (env, file, jwe-file) in this process. Connection credentials are still
 * leased from the broker only; these are keys of the gateway itself, which
 * it must hold to use.
 */
export function ownSecrets(config: Pick<Config, 'secrets'>, env: Readonly<Record<string, string | undefined>> = process.env): OwnSecrets {
  let backends: ReturnType<typeof createBackends> | undefined;
  return async (ref) => {
    backends ??= createBackends(config.secrets, env);
    const b = backends.get(ref);
    if (!b) throw new Error(`no configured secret "${ref}"`);
    return b.read();
  };
}
