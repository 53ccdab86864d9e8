import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { renderKubeconfig } from '../lib/kubeconfig-yaml.js';

/** One connection `ci env` configures: `TYPE:NAME[=ARG]`. */
export interface CiConnection {
  readonly type: 'git' | 'openai' | 'anthropic' | 'registry' | 'kubernetes' | 'mcp' | 'http';
  readonly name: string;
  /** git: a URL prefix rewritten to the connection; openai: the path after the connection (default /v1); kubernetes: the namespace. */
  readonly arg?: string;
}

export const CI_CONNECTION_TYPES = ['git', 'openai', 'anthropic', 'registry', 'kubernetes', 'mcp', 'http'] as const;
const SLUG = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Parses `TYPE:NAME[=ARG]`; throws a message for the usage error. */
export function parseConnection(spec: string): CiConnection {
  const m = /^([a-z]+):([^=\s]+)(?:=(\S*))?$/.exec(spec.trim());
  if (!m) throw new Error(`"${spec}" is not TYPE:NAME[=ARG]`);
  const type = m[1] as CiConnection['type'];
  if (!(CI_CONNECTION_TYPES as readonly string[]).includes(type))
    throw new Error(`unknown connection type "${m[1]}" (one of ${CI_CONNECTION_TYPES.join(', ')})`);
  const name = m[2] as string;
  if (!SLUG.test(name)) throw new Error(`"${name}" is not a connection name`);
  return { type, name, ...(m[3] !== undefined && m[3] !== '' && { arg: m[3] }) };
}

/** `FOO-bar` → `FOO_BAR`: a connection name as part of a variable name. */
export const varPart = (name: string): string => name.toUpperCase().replace(/-/g, '_');

/** A word for a POSIX shell, single-quoted. */
export const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A git config value, double-quoted (the helper command line holds spaces and quotes). */
const gitValue = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The user's own global git config, included first so their settings stay (ours come after and win). */
export function previousGitConfig(env: NodeJS.ProcessEnv): string | undefined {
  const candidates = [
    env['GIT_CONFIG_GLOBAL'],
    join(env['HOME'] ?? homedir(), '.gitconfig'),
    join(env['XDG_CONFIG_HOME'] ?? join(env['HOME'] ?? homedir(), '.config'), 'git', 'config'),
  ];
  return candidates.find((p): p is string => !!p && p !== '/dev/null' && existsSync(p));
}

/**
 * The git config `ci env` points GIT_CONFIG_GLOBAL at: the user's global
 * config included, then a credential helper for the gateway's origin only
 * (earlier helpers reset for it, so no other helper answers with another
 * secret), calling `ci token` at every request so a fresh token is used, and
 * `url.<gateway>/<connection>/.insteadOf <prefix>` so `git push` to the
 * forge's own URLs goes through the gateway unchanged.
 */
export function gitConfig(o: { gateway: URL; helper: string; include: string | undefined; git: readonly CiConnection[] }): string {
  const origin = o.gateway.origin;
  const lines = ['# written by agentgate ci env'];
  if (o.include) lines.push('[include]', `\tpath = ${gitValue(o.include)}`);
  lines.push(`[credential ${gitValue(`${origin}/`)}]`, '\thelper = ""', `\thelper = ${gitValue(`!${o.helper}`)}`);
  for (const c of o.git) {
    if (!c.arg) continue;
    lines.push(`[url ${gitValue(`${base(o.gateway)}/${c.name}/`)}]`, `\tinsteadOf = ${gitValue(c.arg)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The gateway URL without a trailing slash (a gateway may sit under a path). */
export const base = (gateway: URL): string => `${gateway.origin}${gateway.pathname.replace(/\/+$/, '')}`;

/** Docker's config.json: the user's own (when any) with the gateway's host served by the `agentgate` credential helper. */
export function dockerConfig(gateway: URL, env: NodeJS.ProcessEnv): string {
  const own = join(env['DOCKER_CONFIG'] ?? join(env['HOME'] ?? homedir(), '.docker'), 'config.json');
  let config: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(readFileSync(own, 'utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) config = parsed as Record<string, unknown>;
  } catch {
    // No config of the user's (or unreadable): start empty.
  }
  const helpers = (config['credHelpers'] && typeof config['credHelpers'] === 'object' ? config['credHelpers'] : {}) as Record<string, string>;
  const auths = { ...((config['auths'] as Record<string, unknown> | undefined) ?? {}) };
  // A stored credential for the gateway would win over the helper in some clients: only the helper answers for it.
  delete auths[gateway.host];
  return `${JSON.stringify({ ...config, auths, credHelpers: { ...helpers, [gateway.host]: 'agentgate' } }, null, 2)}\n`;
}

/** `docker-credential-agentgate`: the helper docker and skopeo run, a shell script calling `ci token`. */
export function dockerHelperScript(helper: string): string {
  return `#!/bin/sh\n# written by agentgate ci env: docker's credential helper for the gateway\nexec ${helper} "$@"\n`;
}

/** A kubeconfig with one context per kubernetes connection; each user is an exec plugin running `ci token` (which refreshes the CI token). */
export function kubeconfig(o: { gateway: URL; command: readonly string[]; kube: readonly CiConnection[] }): string {
  const [command, ...args] = o.command;
  const contexts = o.kube.map((c) => ({ connection: c.name, server: `${base(o.gateway)}/${c.name}`, namespace: c.arg }));
  return renderKubeconfig(contexts, { exec: { command: command as string, args } });
}

/** An MCP client configuration (`mcpServers`, Streamable HTTP) naming each mcp connection; the bearer comes from $AGENTGATE_TOKEN. */
export function mcpConfig(gateway: URL, mcp: readonly CiConnection[]): string {
  const servers = Object.fromEntries(
    mcp.map((c) => [c.name, { type: 'http', url: `${base(gateway)}/${c.name}`, headers: { Authorization: 'Bearer ${AGENTGATE_TOKEN}' } }]),
  );
  return `${JSON.stringify({ mcpServers: servers }, null, 2)}\n`;
}
