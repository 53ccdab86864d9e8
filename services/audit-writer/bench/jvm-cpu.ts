import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS = 100;

/**
 * The pid of the server process named `comm` whose command line names `dir` (the testkit runs each
 * server under a small sh watchdog whose command line names the dir too: the name tells them apart).
 */
export function serverPid(comm: string, dir: string): number {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() !== comm) continue;
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) return Number(p);
    } catch {
      // The process ended while we looked.
    }
  }
  throw new Error(`no ${comm} process runs in ${dir}`);
}

/** The OpenSearch JVM the testkit started in `dir`. */
export const openSearchPid = (dir: string): number => serverPid('java', dir);

/** CPU µs (user + system, every thread) process `pid` used so far, from /proc/<pid>/stat. */
export function processCpuUs(pid: number): number {
  const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / TICKS;
}
