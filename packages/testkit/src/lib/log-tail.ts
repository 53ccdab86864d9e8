import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Last `lines` lines of a log file ('' when it does not exist); reads at most 64 KiB. */
export function logTail(path: string, lines = 40): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const text = buf.toString('utf8').replace(/\s+$/, '');
    return text.split('\n').slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}

/** Formats a log tail for an error message. */
export function withLogTail(message: string, logFile: string): string {
  const tail = logTail(logFile);
  return tail ? `${message}\n--- last lines of ${logFile} ---\n${tail}` : `${message} (log ${logFile} is empty)`;
}
