import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { TestkitError } from '../errors.js';
import { onProcessExit } from './exit-hooks.js';
import { withLogTail } from './log-tail.js';

/** How to spawn a server process. */
export interface SpawnSpec {
  command: string;
  args: string[];
  /** stdout and stderr are appended here, never piped through the test process. */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** A running server child: its own process group, killed on test-process exit. */
export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code or signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /**
   * SIGTERM to the whole group, SIGKILL after `graceMs` (at once when 0, to
   * simulate a crash); resolves once the leader has exited.
   */
  stop(graceMs?: number): Promise<void>;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole process group, so a JVM's or a CGI's children die too.
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Runs the server under a small sh watchdog that holds a pipe from the test
 * process: if the test process dies without running its exit hooks
 * (SIGKILL, OOM), the pipe closes and the watchdog SIGKILLs the server, so
 * no orphan keeps a port or a JVM's gigabyte on the shared machine. The
 * watcher ignores SIGTERM so a graceful group stop stays graceful, and the
 * shell waits until the server has really exited.
 */
const WATCHDOG = [
  // Background jobs of a non-interactive sh get /dev/null as stdin: keep the pipe on fd 3.
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'server=$!',
  "trap 'kill -TERM $server 2>/dev/null' TERM",
  "(trap '' TERM INT; cat <&3 >/dev/null; kill -KILL $server 2>/dev/null) &",
  'exec 3<&-',
  'status=0',
  'while kill -0 $server 2>/dev/null; do wait $server; status=$?; done',
  'exit $status',
].join('\n');

// Held here so a watchdog's pipe lives as long as its server, even when a
// test keeps only the URL and drops the handle.
const live = new Set<ChildProcess>();

/** Spawns a server detached in its own process group, with output to a log file. */
export function spawnManaged(spec: SpawnSpec): ManagedProcess {
  const fd = openSync(spec.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', WATCHDOG, 'testkit-watchdog', spec.command, ...spec.args], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['pipe', fd, fd],
      detached: true,
    });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(fd);
  }
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
    child.once('error', () => {
      exitedFlag = true;
      resolve({ code: null, signal: null });
    });
  });
  const pid = child.pid;
  if (pid === undefined) {
    throw new TestkitError('ERR_START_FAILED', withLogTail(`could not spawn ${spec.command}`, spec.logFile));
  }
  // The test process must not wait for servers to end before it can exit;
  // the watchdog pipe is never written, only closed by our death.
  child.unref();
  child.stdin?.on('error', () => undefined);
  live.add(child);
  void exited.then(() => live.delete(child));
  const unregister = onProcessExit(() => killGroup(pid, 'SIGKILL'));
  void exited.then(unregister);

  return {
    child,
    pid,
    exited,
    hasExited: () => exitedFlag,
    async stop(graceMs = 10_000) {
      if (exitedFlag) return;
      // Hold the event loop open until the exit is observed (the child is unref'd).
      child.ref();
      killGroup(pid, graceMs <= 0 ? 'SIGKILL' : 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
        child.unref();
      }
      // Leftover group members (a CGI grandchild, say) get no grace.
      killGroup(pid, 'SIGKILL');
    },
  };
}
