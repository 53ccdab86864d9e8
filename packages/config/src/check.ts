import { ConfigError, type ConfigIssue } from './errors.js';
import { type LoadConfigOptions, loadConfig, resolveConfigPath } from './load.js';
import type { Config } from './schema.js';

/** A short description of a valid configuration (for `agentgate config check`). */
export interface ConfigSummary {
  file: string;
  listen: string;
  bus: 'nats' | 'inproc';
  issuers: string[];
  connections: Array<{ name: string; type: string }>;
  secrets: number;
  policyRules: number;
  policyDefault: string;
  sinks: string[];
}

export type CheckConfigResult =
  | { ok: true; summary: ConfigSummary; config: Config }
  | { ok: false; code: ConfigError['code']; file: string; errors: readonly ConfigIssue[]; message: string };

/** Summarizes a configuration without any secret material (the file holds none anyway). */
export function summarizeConfig(config: Config, file: string): ConfigSummary {
  return {
    file,
    listen: `${config.gateway.listen.host}:${config.gateway.listen.port}`,
    bus: config.bus.natsUrl ? 'nats' : 'inproc',
    issuers: config.identity.issuers.map((i) => i.name),
    connections: config.connections.map((c) => ({ name: c.name, type: c.type })),
    secrets: config.secrets.length,
    policyRules: config.policy.rules.length,
    policyDefault: config.policy.default,
    sinks: config.audit.sinks.map((s) => s.type),
  };
}

/**
 * Validates a configuration file's schema like start-up does, without throwing:
 * `{ ok: true, summary }` or `{ ok: false, errors }` (format errors with
 * formatConfigErrors). Other errors than ConfigError are rethrown.
 *
 * The schema is only the first half of `agentgate config check`: compiling the
 * policy (CEL) and checking its kinds and attributes against the adapters'
 * catalogue need @agentgate/policy and the proxy, which depend on this package,
 * so the CLI runs those on the `config` returned here (packages/cli config-check.ts).
 */
export function checkConfig(path?: string, opts: Omit<LoadConfigOptions, 'path'> = {}): CheckConfigResult {
  const file = resolveConfigPath({ ...(path !== undefined && { path }), ...(opts.env !== undefined && { env: opts.env }) });
  try {
    const config = loadConfig({ ...opts, path: file });
    return { ok: true, summary: summarizeConfig(config, file), config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const errors = err.issues.length > 0 ? err.issues : [{ path: '(file)', message: err.message }];
    return { ok: false, code: err.code, file, errors, message: err.message };
  }
}
