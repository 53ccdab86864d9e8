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

/** Creates `$TMPDIR/agentgate-<prefix>-XXXXXX`. */
export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `agentgate-${prefix}-`));
  let removed = false;
  const cleanup = (): void => {
    if (removed || keep()) return;
    removed = true;
    unregister();
    rmSync(path, { recursive: true, force: true, maxRetries: 3 });
  };
  const unregister = onProcessExit(cleanup);
  return { path, cleanup };
}
