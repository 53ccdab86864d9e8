import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { TestkitError } from './errors.js';

// Debian installs some servers (nats-server) under sbin, which a non-root PATH lacks.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of `name` on PATH (or the usual sbin directories), or undefined. */
export function findBinary(name: string): string | undefined {
  if (isAbsolute(name)) return isExecutable(name) ? name : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Absolute path of a binary a test needs. Throws ERR_BINARY_MISSING naming
 * the install command: a test that cannot start its server fails loudly, it
 * never skips.
 */
export function requireBinary(name: string, installHint: string): string {
  const found = findBinary(name);
  if (!found) {
    throw new TestkitError('ERR_BINARY_MISSING', `${name} not found on PATH: ${installHint}`);
  }
  return found;
}
