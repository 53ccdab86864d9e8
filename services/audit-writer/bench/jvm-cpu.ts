import { execFileSync } from 'node:child_process';
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

/** The thread groups of an OpenSearch node that {@link jvmThreadCpuMs} reports. */
export const THREAD_GROUPS = ['write', 'refresh', 'merge', 'flush', 'http', 'gc', 'jit', 'other'] as const;
export type ThreadGroup = (typeof THREAD_GROUPS)[number];

function groupOf(name: string): ThreadGroup {
  if (/\]\[write\]/.test(name)) return 'write';
  if (/\]\[refresh\]/.test(name)) return 'refresh';
  if (/Lucene Merge Thread|\]\[force_merge\]/.test(name)) return 'merge';
  if (/\]\[flush\]|\]\[translog_sync\]/.test(name)) return 'flush';
  if (/http_server_worker|transport_worker|\]\[management\]/.test(name)) return 'http';
  if (/^(GC Thread|G1 |VM Thread)/.test(name)) return 'gc';
  if (/CompilerThread|Sweeper/.test(name)) return 'jit';
  return 'other';
}

/**
 * CPU ms so far of every live thread of the JVM `pid`, summed per thread group (`jstack` prints
 * each thread's `cpu=`). A thread that ended between two readings (a Lucene merge thread lives for
 * one merge) takes its CPU with it: compare the sum with {@link processCpuUs}.
 */
export function jvmThreadCpuMs(pid: number): Record<ThreadGroup, number> {
  const out = Object.fromEntries(THREAD_GROUPS.map((g) => [g, 0])) as Record<ThreadGroup, number>;
  const text = execFileSync('jstack', [String(pid)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  for (const m of text.matchAll(/^"([^"]*)".*?\bcpu=([\d.]+)ms/gm)) out[groupOf(m[1]!)] += Number(m[2]);
  return out;
}
