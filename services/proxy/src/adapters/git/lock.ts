import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';

/**
 * In-process keyed mutex: work for one key runs one at a time, in arrival
 * order; other keys are not held up. It keeps a process from queueing more
 * than one waiter on a mirror's file lock (see {@link withFileLock}).
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/** The lock was not free within the wait. */
export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
}

/**
 * Runs `fn` holding an exclusive kernel lock (flock(2)) on `file`, shared
 * by every process on the machine (gateway replicas with one cache dir):
 * the lock is taken by `flock(1)` on a descriptor this process opened and
 * passed down, and belongs to that open file description, so it stays held
 * after flock exits and is released when the descriptor closes, also when
 * this process dies (no stale lock, unlike a lock file or directory).
 * Node has no flock of its own; util-linux's `flock` is in every Debian
 * image. On NFS, Linux emulates flock with byte-range locks (not tested here).
 */
export async function withFileLock<T>(file: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const handle = await open(file, 'a', 0o600);
  try {
    await flockFd(handle.fd, waitMs);
    return await fn();
  } finally {
    await handle.close();
  }
}

function flockFd(fd: number, waitMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('flock', ['--exclusive', '--wait', (waitMs / 1000).toFixed(3), '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      if (stderr.length < 2000) stderr += c;
    });
    child.once('error', (err) => reject(new Error(`flock could not run: ${err.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else if (code === 1) reject(new LockTimeoutError(`the lock was held by another process for over ${waitMs} ms`));
      else reject(new Error(`flock failed (exit ${code}): ${stderr.trim().slice(0, 300)}`));
    });
  });
}
