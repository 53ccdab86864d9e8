/**
 * Synchronous clean-up run when the test process ends, however it ends
 * (normal exit, SIGINT, SIGTERM, SIGHUP): servers left running would hold
 * ports and disk on a machine shared with other engineers.
 */
type Hook = () => void;

const hooks = new Set<Hook>();
let installed = false;

function runAll(): void {
  // Newest first: children are killed before the directories they write to are removed.
  for (const hook of [...hooks].reverse()) {
    try {
      hook();
    } catch {
      // best effort: one failing hook must not keep the others from running
    }
  }
  hooks.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runAll();
      // Re-raise so the process still ends the way the signal asked (our handler was `once`).
      process.kill(process.pid, signal);
    });
  }
}

/** Registers a synchronous hook; returns a function that unregisters it. */
export function onProcessExit(hook: Hook): () => void {
  install();
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
  };
}
