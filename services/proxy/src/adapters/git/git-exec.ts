import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Result of a git run; output is capped, it is for diagnostics and small answers (shas, counts). */
export interface GitResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when git was killed at `timeoutMs`. */
  timedOut: boolean;
}

export interface GitExecOptions {
  /** Extra environment (merged over the clean base). */
  env?: Record<string, string>;
  /** Streamed to git's stdin. */
  stdin?: Readable;
  timeoutMs: number;
}

const OUTPUT_CAP = 64 * 1024;

/**
 * The environment of every git the gateway runs: built from scratch, not
 * inherited, so a GIT_TRACE*, GIT_DIR, GIT_ASKPASS or credential helper of
 * the gateway's own environment can neither leak the brokered credential
 * into a trace nor redirect git to another repository; no system/global
 * config, no prompts.
 */
export function cleanGitEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    GIT_NO_REPLACE_OBJECTS: '1',
    ...extra,
  };
}

/**
 * Runs git without a shell. Arguments never hold a credential (they are
 * world-readable in /proc/<pid>/cmdline); the caller passes secrets through
 * `env` only, which only the gateway's own user (and root) can read.
 */
export async function runGitCommand(args: string[], home: string, opts: GitExecOptions): Promise<GitResult> {
  const child = spawn('git', args, { env: cleanGitEnv(home, opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    if (stdout.length < OUTPUT_CAP) stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    if (stderr.length < OUTPUT_CAP) stderr += c;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  try {
    if (opts.stdin) {
      // A git that exits early (bad pack) closes stdin: that surfaces as its exit code, not as EPIPE.
      await pipeline(opts.stdin, child.stdin).catch(() => {});
    } else {
      child.stdin.end();
    }
    return { code: await exited, stdout, stderr, timedOut };
  } finally {
    clearTimeout(timer);
    opts.stdin?.destroy();
  }
}
