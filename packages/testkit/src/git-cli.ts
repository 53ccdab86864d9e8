import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TestkitError } from './errors.js';
import { requireBinary } from './require-binary.js';

const exec = promisify(execFile);

/**
 * Environment for git runs isolated from the machine's and the user's
 * configuration, with a fixed identity and no credential prompts.
 */
export function isolatedGitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    // A test must fail on a 401, never hang waiting for a password.
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GIT_AUTHOR_NAME: 'agentgate testkit',
    GIT_AUTHOR_EMAIL: 'testkit@agentgate.invalid',
    GIT_COMMITTER_NAME: 'agentgate testkit',
    GIT_COMMITTER_EMAIL: 'testkit@agentgate.invalid',
    ...extra,
  };
}

/** Removes credentials from text that may contain URLs or headers (git error output). */
export function redactCredentials(text: string): string {
  return text
    .replace(/(\/\/)[^/@\s]+@/g, '$1***@')
    .replace(/(authorization:\s*)(\S+\s+)?\S+/gi, (_m, h: string, scheme: string | undefined) => `${h}${scheme ?? ''}***`);
}

/** Options of runGit. */
export interface RunGitOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Default 120 s. */
  timeoutMs?: number;
}

/**
 * Runs the real git CLI with an isolated configuration; resolves with its
 * output, or throws ERR_COMMAND_FAILED with stderr (credentials redacted).
 */
export async function runGit(args: string[], opts: RunGitOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const git = requireBinary('git', 'apt-get install -y git');
  try {
    const { stdout, stderr } = await exec(git, args, {
      cwd: opts.cwd,
      env: isolatedGitEnv(opts.env),
      timeout: opts.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr };
  } catch (err) {
    const stderr = err && typeof err === 'object' && 'stderr' in err ? String(err.stderr) : '';
    const command = redactCredentials(`git ${args.join(' ')}`);
    throw new TestkitError('ERR_COMMAND_FAILED', `${command} failed: ${redactCredentials(stderr).trim()}`);
  }
}
