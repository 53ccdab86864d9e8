import { chmodSync, closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Directories and files of the durable store hold unmasked audit data: owner only. */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Creates `dir` (and parents) owner-only; an existing one from an older version is tightened too. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  chmodSync(dir, DIR_MODE);
}

/** Creates a directory the bus does not own alone (the data directory) owner-only, leaving an existing one as it is. */
export function createDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
}

/** Opens a file owner-only (`a`: append, `w`: truncate); an existing file keeps its data but loses group/other access. */
export function openPrivate(path: string, flags: 'a' | 'w' | 'r+'): number {
  const fd = openSync(path, flags, FILE_MODE);
  fchmodSync(fd, FILE_MODE);
  return fd;
}

/** Tightens an existing file to owner-only (files written by an older version were 0644). */
export function tightenFile(path: string): void {
  if (existsSync(path)) chmodSync(path, FILE_MODE);
}

/** Replaces `path` atomically (temp file, fsync, rename, fsync of the directory): a crash leaves the old or the new file. */
export function writePrivateAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  const fd = openPrivate(tmp, 'w');
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/** fsync of a directory makes a created or renamed entry durable (no-op where the platform refuses it). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some platforms cannot fsync a directory; the rename itself is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
