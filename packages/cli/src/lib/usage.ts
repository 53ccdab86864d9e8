import { CI_USAGE } from '../commands/ci-command.js';
import { CI_ENV_USAGE } from '../commands/ci-env.js';
import { CI_TOKEN_USAGE } from '../commands/ci-token.js';

/**
 * One usage text per command: `agentgate <command> --help` (or `agentgate help <command>`)
 * prints it and exits 0; a usage error prints it after the reason and exits 2.
 */
export const COMMAND_USAGE = {
  start: [
    'usage: agentgate start [--config FILE]',
    '  runs all five services in one process (in-process bus unless NATS_URL is set)',
    '  configuration: --config FILE, else $AGENTGATE_CONFIG, else ./agentgate.yaml, else the shipped sample',
  ].join('\n'),
  config: [
    'usage: agentgate config check [FILE]',
    '  validates a configuration as start-up does: every bad key, policy rules that do not compile (CEL),',
    '  action kinds and attrs.* no adapter has, protectedRefs no rule reads; exit 1 when anything is wrong',
    '  FILE: else $AGENTGATE_CONFIG, else ./agentgate.yaml',
  ].join('\n'),
  policy: [
    'usage: agentgate policy test --action FILE [--config FILE] [--json]',
    '  evaluates a described action (JSON or YAML, - for stdin) against the policy; exit 0 allow, 3 deny, 4 review',
  ].join('\n'),
  verify: [
    'usage: agentgate verify [--config FILE] [--sink local|opensearch|elasticsearch] [--partition NAME | --all-partitions] [--public-key FILE] [--json]',
    '  walks the audit trail against the signed checkpoints and the chain head on the bus',
    '  --all-partitions: every chain partition (scaled-out writers), and no document outside a chain',
    '  exit 0 intact, 1 tampered (modified, deleted, reordered, inserted, truncated),',
    '  3 UNVERIFIED TAIL: intact up to the last checkpoint, newer events not signed yet (run again in a few seconds)',
  ].join('\n'),
  trail: ['usage: agentgate trail <session-id> [--config FILE] [--json]', '  one agent session step by step; exit 1 when the session has no events'].join('\n'),
  approvals: [
    'usage: agentgate approvals list|show <id>|approve <id>|reject <id> [--reason TEXT] --gateway URL [--token TOKEN] [--json]',
    '  the token is an OIDC token of an approver; without --token it is read from AGENTGATE_TOKEN',
  ].join('\n'),
  'mcp-bridge': [
    'usage: agentgate mcp-bridge --connection NAME --gateway URL [--token-file FILE | --token TOKEN]',
    '  speaks MCP over stdio to the agent and Streamable HTTP to the gateway connection NAME;',
    '  the bearer is the CI OIDC token: --token-file (read again for every request, so a refreshed token is used),',
    '  --token, or AGENTGATE_TOKEN_FILE / AGENTGATE_TOKEN',
  ].join('\n'),
  kubeconfig: [
    'usage: agentgate kubeconfig --connection NAME --gateway URL [--namespace NS] [--token-file PATH | --token-env VAR]',
    '                            [--certificate-authority FILE] [--exec-command CMD [--exec-arg ARG]...] [--static-token]',
    '       agentgate kubeconfig token [--token-file PATH | --token-env VAR]   (the exec credential plugin kubectl runs)',
    '  the kubeconfig reaches the cluster of connection NAME through the gateway; its user is an exec plugin',
    '  (client.authentication.k8s.io/v1) that reads the CI OIDC token from --token-file (re-read at every call,',
    '  so a CI step may refresh it) or from the environment variable --token-env (default AGENTGATE_TOKEN)',
  ].join('\n'),
  // The ci commands' usage lives beside them: the bundle for the action and the GitLab template prints it too.
  ci: CI_USAGE,
  demo: [
    'usage: agentgate demo                      the scripted session in one process, then its trail',
    '       agentgate demo serve issuer|git|model [--host H] [--port N] [--secrets DIR] [--data DIR] [--issuer-url URL]',
    '       agentgate demo agent --gateway URL --issuer URL --model URL --secrets DIR [--wait-ms N]',
    '  serve runs one part of the demo until SIGTERM; agent plays the session against a running gateway',
    '  and, with AGENTGATE_CONFIG set, prints its trail from the index (docker compose --profile demo)',
  ].join('\n'),
} as const;

/** A command name. */
export type CommandName = keyof typeof COMMAND_USAGE;

/**
 * Subcommands with a usage of their own (`agentgate ci env --help`); the other
 * subcommands (`config check`, `approvals list`, `demo serve`, …) are covered by
 * their command's usage.
 */
export const SUBCOMMAND_USAGE: Partial<Record<CommandName, Readonly<Record<string, string>>>> = {
  ci: { env: CI_ENV_USAGE, token: CI_TOKEN_USAGE },
};

/** The usage text for `agentgate <command> [subcommand] --help` (or `agentgate help <command> [subcommand]`). */
export function usageOf(command: CommandName, subcommand?: string): string {
  const own = subcommand === undefined ? undefined : SUBCOMMAND_USAGE[command];
  return (own && Object.hasOwn(own, subcommand as string) ? own[subcommand as string] : undefined) ?? COMMAND_USAGE[command];
}
