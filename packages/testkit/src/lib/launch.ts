import { TestkitError } from '../errors.js';
import { waitFor } from '../wait-for.js';
import { withLogTail } from './log-tail.js';
import { type ManagedProcess, type SpawnSpec, spawnManaged } from './managed-process.js';

/** Options of launchAndWait. */
export interface LaunchOptions {
  /** Resolves truthy once the server serves; a throw means "not yet". */
  ready: (proc: ManagedProcess) => Promise<boolean>;
  timeoutMs: number;
  what: string;
  intervalMs?: number;
}

/**
 * Spawns a server and waits until `ready` says it serves. On failure the
 * process is killed and the error carries the tail of its log, so a failing
 * test shows why the server did not come up.
 */
export async function launchAndWait(spec: SpawnSpec, opts: LaunchOptions): Promise<ManagedProcess> {
  const proc = spawnManaged(spec);
  try {
    let exitReason: string | undefined;
    void proc.exited.then(({ code, signal }) => {
      exitReason = `${opts.what} exited early (code ${code ?? 'none'}, signal ${signal ?? 'none'})`;
    });
    await waitFor(() => opts.ready(proc), {
      timeoutMs: opts.timeoutMs,
      intervalMs: opts.intervalMs ?? 50,
      what: opts.what,
      abortIf: () => exitReason,
    });
    return proc;
  } catch (err) {
    await proc.stop(0);
    const reason = err instanceof Error ? err.message : String(err);
    throw new TestkitError('ERR_START_FAILED', withLogTail(`${opts.what} did not start: ${reason}`, spec.logFile), {
      cause: err,
    });
  }
}
