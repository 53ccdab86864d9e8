import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

/** A service started as its own process by an e2e test, with its output so far. */
export interface ServiceChild {
  name: string;
  proc: ChildProcess;
  log: string[];
}

/** True when something accepts a TCP connection on 127.0.0.1:`port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      r(true);
    });
    s.once('error', () => r(false));
  });
}

/**
 * Sends SIGTERM to every child, last started first, waits until all have exited, then closes
 * `then` in order (what a failed `before` left unset is skipped).
 */
export async function stopChildren(children: ServiceChild[], ...then: Array<{ close(): Promise<unknown> } | undefined>): Promise<void> {
  for (const c of [...children].reverse()) c.proc.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.proc.exitCode !== null ? r(null) : c.proc.once('exit', r)))));
  for (const x of then) await x?.close();
}
