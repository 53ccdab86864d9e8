import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';
import type { ExitCode, Output } from '../lib/output.js';
import {
  type CiConnection,
  base,
  dockerConfig,
  dockerHelperScript,
  gitConfig,
  kubeconfig,
  mcpConfig,
  parseConnection,
  previousGitConfig,
  sh,
  varPart,
} from './ci-files.js';
import { currentToken } from './ci-source.js';
import { type CiTokenIo, processIo, SOURCE_OPTIONS, sourceSettings } from './ci-token.js';

export const CI_ENV_USAGE = [
  'usage: agentgate ci env --gateway URL [--connection TYPE:NAME[=ARG]]... [--audience AUD] [--source github|gitlab|env|file]',
  '                        [--var NAME] [--file PATH] [--dir DIR] [--refresh-before SECONDS] [--command CMD]',
  '                        [--format shell|dotenv|github|json] [--output FILE]',
  "  configures a CI job so every tool goes through the gateway, with the job's OIDC token as its credential:",
  '    git:NAME[=URL_PREFIX]   a credential helper for the gateway; URL_PREFIX (e.g. https://github.com/) rewritten to <gateway>/NAME/',
  '    openai:NAME[=PATH]      OPENAI_BASE_URL=<gateway>/NAME/v1 (or PATH), OPENAI_API_KEY=<token>',
  '    anthropic:NAME          ANTHROPIC_BASE_URL=<gateway>/NAME, ANTHROPIC_AUTH_TOKEN=<token>',
  '    registry:NAME           docker/skopeo credential helper for the gateway host; AGENTGATE_REGISTRY_<NAME>=<host>/NAME',
  '    kubernetes:NAME[=NS]    KUBECONFIG with an exec plugin per connection',
  '    mcp:NAME                AGENTGATE_MCP_<NAME>_URL and an mcpServers file (AGENTGATE_MCP_CONFIG); AGENTGATE_TOKEN=<token>',
  '    http:NAME               AGENTGATE_URL_<NAME>=<gateway>/NAME (send `Authorization: Bearer $(agentgate ci token)`)',
  '  connections default to $AGENTGATE_CONNECTIONS (whitespace-separated); files go to --dir (default $RUNNER_TEMP/agentgate,',
  '  else a private directory under the temp dir); git, docker, skopeo and kubectl fetch a fresh token before expiry;',
  '  the LLM and MCP variables hold the token as of now (run ci env again, or use `agentgate ci token`, for longer runs)',
  '  --format github appends to $GITHUB_ENV and $GITHUB_PATH and masks the token; shell (default) prints export lines',
  "  --command CMD: how the helpers run these commands (default: this CLI as run now), e.g. 'agentgate ci'",
].join('\n');

const FORMATS = ['shell', 'dotenv', 'github', 'json'] as const;
type Format = (typeof FORMATS)[number];

/** What `ci env` sets: variables, and directories to put first on PATH. */
export interface CiEnvironment {
  readonly vars: Record<string, string>;
  readonly path: string[];
  /** The token, when a variable holds it (masked in a GitHub Actions log). */
  readonly token: string | undefined;
}

/**
 * The command line that runs this CLI again (`… ci token …`), as helpers
 * call it: the node binary and its flags (a bare `--import` specifier made
 * absolute, since helpers run in other directories), then the script.
 */
export function selfCommand(): string[] {
  const execArgv: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const a = process.execArgv[i] as string;
    const m = /^--import(?:=(.*))?$/.exec(a);
    if (!m) {
      execArgv.push(a);
      continue;
    }
    const spec = m[1] ?? process.execArgv[++i] ?? '';
    let resolved = spec;
    try {
      if (!spec.startsWith('.') && !spec.startsWith('/') && !spec.includes(':')) resolved = import.meta.resolve(spec);
    } catch {
      // Left as given: it resolved for this process, it may for the helper too.
    }
    execArgv.push('--import', resolved);
  }
  return [process.execPath, ...execArgv, resolve(process.argv[1] ?? ''), 'ci'];
}

/**
 * `agentgate ci env`: obtains the job's token once (so a missing
 * `id-token: write` fails here, not in the middle of an agent run), writes
 * the helper files into a private directory, and prints or writes the
 * variables that point git, docker, skopeo, kubectl, LLM clients and MCP
 * clients at the gateway. The token is printed only inside the variables
 * that must hold it (LLM keys, MCP), and in GitHub Actions it is masked first.
 */
export async function ciEnv(args: string[], out: Output, io: CiTokenIo = processIo(), self: () => string[] = selfCommand): Promise<ExitCode> {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        ...SOURCE_OPTIONS,
        connection: { type: 'string', multiple: true },
        dir: { type: 'string' },
        command: { type: 'string' },
        format: { type: 'string' },
        output: { type: 'string' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (cause) {
    throw new CliError('ERR_CLI_USAGE', `${(cause as Error).message}\n${CI_ENV_USAGE}`, { cause });
  }
  const env = io.env;
  const gatewayText = (values['gateway'] as string | undefined) ?? env['AGENTGATE_GATEWAY'];
  if (!gatewayText) throw new CliError('ERR_CLI_USAGE', `--gateway URL is required (or AGENTGATE_GATEWAY)\n${CI_ENV_USAGE}`);
  let gateway: URL;
  try {
    gateway = new URL(gatewayText);
  } catch {
    throw new CliError('ERR_CLI_USAGE', '--gateway must be an http(s) URL');
  }
  if ((gateway.protocol !== 'http:' && gateway.protocol !== 'https:') || gateway.username || gateway.password || gateway.search || gateway.hash) {
    throw new CliError('ERR_CLI_USAGE', '--gateway must be an http(s) URL without credentials, query or fragment');
  }
  const format = ((values['format'] as string | undefined) ?? 'shell') as Format;
  if (!FORMATS.includes(format)) throw new CliError('ERR_CLI_USAGE', `--format must be one of ${FORMATS.join(', ')}\n${CI_ENV_USAGE}`);
  const specs = (values['connection'] as string[] | undefined) ?? (env['AGENTGATE_CONNECTIONS'] ?? '').split(/\s+/).filter(Boolean);
  let connections: CiConnection[];
  try {
    connections = specs.map(parseConnection);
  } catch (err) {
    throw new CliError('ERR_CLI_USAGE', `--connection: ${(err as Error).message}\n${CI_ENV_USAGE}`);
  }
  const dir = stateDir(values['dir'] as string | undefined, env, gateway);
  const settings = sourceSettings({ ...values, cache: (values['cache'] as string | undefined) ?? join(dir, 'token') }, env, CI_ENV_USAGE);
  const { token } = await currentToken(settings.source, env, settings.cache);

  const command = values['command'] !== undefined ? [values['command'] as string] : self().map(sh);
  const tokenArgs = [
    'token',
    '--gateway',
    base(gateway),
    '--audience',
    settings.source.audience,
    '--source',
    settings.source.kind,
    ...(settings.source.variable ? ['--var', settings.source.variable] : []),
    ...(settings.source.file ? ['--file', resolve(settings.source.file)] : []),
    '--cache',
    settings.cache.cache as string,
    '--refresh-before',
    String(settings.cache.refreshBefore),
  ];
  const helper = (format: string): string => [...command, ...tokenArgs.map(sh), '--format', format].join(' ');
  const result = writeFiles({
    gateway,
    dir,
    connections,
    helper,
    env,
    token,
    execCommand: () =>
      (values['command'] !== undefined ? ['/bin/sh', '-c', `${values['command']} "$@"`, 'agentgate'] : self()).concat([
        ...tokenArgs,
        '--format',
        'exec-credential',
      ]),
  });
  emit(format, result, values['output'] as string | undefined, env, out);
  return 0;
}

/** The directory for the helper files and the token cache: created private (0700). */
function stateDir(given: string | undefined, env: NodeJS.ProcessEnv, gateway: URL): string {
  const id = createHash('sha256').update(gateway.href).digest('hex').slice(0, 12);
  const dir = given
    ? isAbsolute(given)
      ? given
      : resolve(given)
    : env['RUNNER_TEMP']
      ? join(env['RUNNER_TEMP'], 'agentgate')
      : join(tmpdir(), `agentgate-ci-${process.getuid?.() ?? 'user'}-${id}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

function writeFiles(o: {
  gateway: URL;
  dir: string;
  connections: readonly CiConnection[];
  helper: (format: string) => string;
  execCommand: () => string[];
  env: NodeJS.ProcessEnv;
  token: string;
}): CiEnvironment {
  const vars: Record<string, string> = { AGENTGATE_GATEWAY: base(o.gateway), AGENTGATE_CI_DIR: o.dir };
  const path: string[] = [];
  let token: string | undefined;
  const of = (t: CiConnection['type']) => o.connections.filter((c) => c.type === t);
  const file = (name: string, text: string, mode = 0o600): string => {
    const p = join(o.dir, name);
    writeFileSync(p, text, { mode });
    chmodSync(p, mode);
    return p;
  };
  // Git always gets the helper: any connection's URL on the gateway then works with a plain `git push`.
  vars['GIT_CONFIG_GLOBAL'] = file(
    'gitconfig',
    gitConfig({ gateway: o.gateway, helper: o.helper('git-credential'), include: previousGitConfig(o.env), git: of('git') }),
  );
  for (const c of of('openai')) {
    vars['OPENAI_BASE_URL'] = `${base(o.gateway)}/${c.name}${c.arg ?? '/v1'}`.replace(/\/+$/, '');
    vars['OPENAI_API_KEY'] = o.token;
    token = o.token;
  }
  for (const c of of('anthropic')) {
    vars['ANTHROPIC_BASE_URL'] = `${base(o.gateway)}/${c.name}`;
    vars['ANTHROPIC_AUTH_TOKEN'] = o.token;
    token = o.token;
  }
  if (of('registry').length > 0) {
    mkdirSync(join(o.dir, 'docker'), { recursive: true, mode: 0o700 });
    mkdirSync(join(o.dir, 'bin'), { recursive: true, mode: 0o700 });
    vars['DOCKER_CONFIG'] = join(o.dir, 'docker');
    vars['REGISTRY_AUTH_FILE'] = file('docker/config.json', dockerConfig(o.gateway, o.env));
    file('bin/docker-credential-agentgate', dockerHelperScript(o.helper('docker-credential')), 0o700);
    path.push(join(o.dir, 'bin'));
    for (const c of of('registry')) vars[`AGENTGATE_REGISTRY_${varPart(c.name)}`] = `${o.gateway.host}/${c.name}`;
  }
  if (of('kubernetes').length > 0)
    vars['KUBECONFIG'] = file('kubeconfig', kubeconfig({ gateway: o.gateway, command: o.execCommand(), kube: of('kubernetes') }));
  if (of('mcp').length > 0) {
    vars['AGENTGATE_MCP_CONFIG'] = file('mcp.json', mcpConfig(o.gateway, of('mcp')));
    for (const c of of('mcp')) vars[`AGENTGATE_MCP_${varPart(c.name)}_URL`] = `${base(o.gateway)}/${c.name}`;
    vars['AGENTGATE_TOKEN'] = o.token;
    token = o.token;
  }
  for (const c of of('http')) vars[`AGENTGATE_URL_${varPart(c.name)}`] = `${base(o.gateway)}/${c.name}`;
  return { vars, path, token };
}

/** Writes the variables in the asked format; in GitHub Actions the token is masked before anything could show it. */
function emit(format: Format, e: CiEnvironment, output: string | undefined, env: NodeJS.ProcessEnv, out: Output): void {
  const inActions = env['GITHUB_ACTIONS'] === 'true';
  if (format === 'github') {
    const envFile = output ?? env['GITHUB_ENV'];
    if (!envFile) throw new CliError('ERR_CLI_USAGE', '--format github needs $GITHUB_ENV (or --output FILE)');
    if (e.token) out.out(`::add-mask::${e.token}`);
    const lines: string[] = [];
    for (const [k, v] of Object.entries(e.vars)) {
      // The heredoc form with a random delimiter: no value can end its own entry early and set another variable.
      const delim = `ghadelimiter_${randomBytes(16).toString('hex')}`;
      lines.push(`${k}<<${delim}`, v, delim);
    }
    appendFileSync(envFile, `${lines.join('\n')}\n`);
    if (e.path.length > 0) {
      const pathFile = env['GITHUB_PATH'];
      if (!pathFile) throw new CliError('ERR_CLI_USAGE', '--format github needs $GITHUB_PATH for the docker credential helper');
      appendFileSync(pathFile, `${e.path.join('\n')}\n`);
    }
    out.out(
      `agentgate: configured ${Object.keys(e.vars)
        .filter((k) => k !== 'AGENTGATE_CI_DIR')
        .join(', ')}`,
    );
    return;
  }
  if (inActions && e.token) out.err(`::add-mask::${e.token}`);
  let text: string;
  if (format === 'json') text = JSON.stringify({ env: e.vars, path: e.path }, null, 2);
  else if (format === 'dotenv')
    text = Object.entries(e.vars)
      .map(([k, v]) => `${k}=${sh(v)}`)
      .join('\n');
  else {
    text = [
      ...Object.entries(e.vars).map(([k, v]) => `export ${k}=${sh(v)}`),
      ...(e.path.length > 0 ? [`export PATH=${sh(e.path.join(':'))}:"$PATH"`] : []),
    ].join('\n');
  }
  if (output) writeFileSync(output, `${text}\n`, { mode: 0o600 });
  else out.out(text);
}
