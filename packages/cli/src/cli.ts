import { CliError } from './errors.js';
import { type ExitCode, type Output, stdio } from './lib/output.js';
import { COMMAND_USAGE, type CommandName, usageOf } from './lib/usage.js';

const USAGE = `agentgate — audited gateway for AI coding agents

usage:
  agentgate start [--config FILE]    run all services in one process (config: --config, AGENTGATE_CONFIG, ./agentgate.yaml, or the sample)
  agentgate config check [FILE]      validate a configuration file
  agentgate policy test --action F   evaluate a described action (JSON/YAML file) against the configuration's policy
  agentgate verify                   verify the audit trail's hash chain and signed checkpoints
  agentgate trail <session-id>       print one agent session step by step (--json for machines)
  agentgate approvals list|show|approve|reject [ID] --gateway URL [--token T] [--reason TEXT]
                                     decide actions held for a human (token: --token or AGENTGATE_TOKEN)
  agentgate mcp-bridge --connection NAME --gateway URL [--token-file F]
                                     an MCP server over stdio that relays to the gateway's mcp connection NAME
  agentgate kubeconfig --connection NAME --gateway URL [--token-file F | --token-env V]
                                     print a kubeconfig reaching a kubernetes connection through the gateway
  agentgate demo [serve|agent]       play a scripted agent session and print its trail (serve/agent: the demo's parts apart)
  agentgate ci env|token             configure a CI job for the gateway (git, LLM clients, docker, kubectl, MCP) / print its OIDC token
  agentgate help [COMMAND]           this text, or a command's usage (also: agentgate COMMAND --help)`;

type Command = (args: string[], io: Output) => Promise<ExitCode>;

// Keyed by CommandName: a command without a usage text (or a usage without a command) fails the typecheck.
const commands: Record<CommandName, () => Promise<Command>> = {
  start: async () => (await import('./commands/start.js')).start,
  trail: async () => (await import('./commands/trail.js')).trail,
  verify: async () => (await import('./commands/verify.js')).verify,
  demo: async () => (await import('./commands/demo.js')).demo,
  'mcp-bridge': async () => async (args, io) => (await import('./commands/mcp-bridge.js')).mcpBridge(args, io),
  approvals: async () => async (args, io) => (await import('./commands/approvals.js')).approvals(args, io),
  kubeconfig: async () => async (args, io) => (await import('./commands/kubeconfig.js')).kubeconfig(args, io),
  ci: async () => (await import('./commands/ci-command.js')).ci,
  policy: async () => async (args, io) => {
    if (args[0] !== 'test') throw new CliError('ERR_CLI_USAGE', COMMAND_USAGE.policy);
    return (await import('./commands/policy-test.js')).policyTest(args.slice(1), io);
  },
  config: async () => async (args, io) => {
    if (args[0] !== 'check') throw new CliError('ERR_CLI_USAGE', COMMAND_USAGE.config);
    return (await import('./commands/config-check.js')).configCheck(args.slice(1), io);
  },
};

const isCommand = (name: string | undefined): name is CommandName => name !== undefined && Object.hasOwn(COMMAND_USAGE, name);

/** `--help` / `-h` anywhere before a `--` end of options. */
function asksHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Runs one command; returns the exit code (0 ok, 1 failed check, 2 usage error). */
export async function runCli(argv: string[], io: Output = stdio): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !isCommand(topic)) {
      io.err(`unknown command "${topic}"\n\n${USAGE}`);
      return 2;
    }
    io.out(topic ? usageOf(topic, rest[1]) : USAGE);
    return name ? 0 : 2;
  }
  if (!isCommand(name)) {
    io.err(`unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  // Help is answered before the command parses anything: it never starts, reads or changes a thing.
  if (asksHelp(rest)) {
    io.out(usageOf(name, rest[0]));
    return 0;
  }
  try {
    return await (await commands[name]())(rest, io);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (err instanceof CliError) {
      io.err(err.message);
      return 2;
    }
    // Typed errors of our packages carry a code and a message written for the user.
    if (typeof code === 'string' && code.startsWith('ERR_')) {
      io.err(`${code}: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
}
