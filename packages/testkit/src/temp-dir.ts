import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit } from './lib/exit-hooks.js';

/** A temporary directory; `cleanup()` removes it (also done when the process exits). */
export interface TempDir {
  readonly path: string;
  cleanup(): void;
}

/** Set AGENTGATE_TESTKIT_KEEP=1 to keep temp dirs (server logs, data) for debugging. */
function keep(): boolean {
  return process.env.AGENTGATE_TESTKIT_KEEP === '1';
}

// Held here so the reapers' pipes live exactly as long as this process.
const reapers = new Set<ChildProcess>();

/**
 * A detached `sh` that removes `path` once its stdin reaches EOF, which
 * happens only when this process closes the pipe or dies, even by SIGKILL,
 * when no exit hook runs: JetStream stores and OpenSearch data must not pile
 * up in /tmp of a shared machine.
 */
function startReaper(path: string): ChildProcess | undefined {
  try {
    const reaper = spawn('/bin/sh', ['-c', 'trap "" INT TERM HUP; cat >/dev/null; rm -rf -- "$1"', 'testkit-reaper', path], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    reaper.on('error', () => reapers.delete(reaper));
    reaper.stdin?.on('error', () => undefined);
    reaper.unref();
    reapers.add(reaper);
    return reaper;
  } catch {
    // Without /bin/sh the exit hooks still clean up on every ordinary exit.
    return undefined;
  }
}

/** Creates `$TMPDIR/agentgate-<prefix>-XXXXXX`. */
export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `agentgate-${prefix}-`));
  const reaper = keep() ? undefined : startReaper(path);
  let removed = false;
  const cleanup = (): void => {
    if (removed || keep()) return;
    removed = true;
    unregister();
    rmSync(path, { recursive: true, force: true, maxRetries: 3 });
    if (reaper) {
      reapers.delete(reaper);
      reaper.stdin?.destroy();
    }
  };
  const unregister = onProcessExit(cleanup);
  return { path, cleanup };
}
