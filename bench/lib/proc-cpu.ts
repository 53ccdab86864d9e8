/**
 * CPU time of processes and of the whole machine, from /proc (Linux only).
 * Per process: utime + stime of /proc/<pid>/stat (threads included, children not);
 * the machine: the busy jiffies of /proc/stat's `cpu` line, so a step can say
 * how much of the machine other work took while it ran (the machine is shared).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = clockTicks();

function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/** CPU µs (user + system) the process has used so far; undefined once it is gone. */
export function processCpuMicros(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5) (utime, stime) are at 11 and 12 once pid and comm are cut off.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / TICKS_PER_SECOND;
}

/** Busy and total CPU µs of the whole machine so far (all cores), from /proc/stat. */
export function machineCpuMicros(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user/nice).
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const us = 1e6 / TICKS_PER_SECOND;
  return { busy: (total - idle) * us, total: total * us };
}

/** A snapshot of named processes' CPU and the machine's, to subtract from a later one. */
export interface CpuSnapshot {
  at: number;
  procs: Record<string, number | undefined>;
  machine: { busy: number; total: number };
}

export function cpuSnapshot(pids: Record<string, number | undefined>): CpuSnapshot {
  const procs: Record<string, number | undefined> = {};
  for (const [name, pid] of Object.entries(pids)) procs[name] = pid === undefined ? undefined : processCpuMicros(pid);
  return { at: performance.now(), procs, machine: machineCpuMicros() };
}

/** CPU µs per process between two snapshots, and the machine's busy share (0..1 of all cores). */
export function cpuDelta(
  a: CpuSnapshot,
  b: CpuSnapshot,
): { perProcess: Record<string, number | undefined>; machineBusy: number; machineBusyMicros: number; wallMs: number } {
  const perProcess: Record<string, number | undefined> = {};
  for (const name of Object.keys(b.procs)) {
    const x = a.procs[name];
    const y = b.procs[name];
    perProcess[name] = x === undefined || y === undefined ? undefined : y - x;
  }
  const total = b.machine.total - a.machine.total;
  const busy = b.machine.busy - a.machine.busy;
  return { perProcess, machineBusy: total > 0 ? busy / total : 0, machineBusyMicros: busy, wallMs: b.at - a.at };
}

/**
 * The child of `parent` whose command name is `comm`. The testkit runs each server under a small
 * sh watchdog and reports the watchdog's pid; the server itself is the watchdog's child.
 */
export function childPid(parent: number | undefined, comm: string): number | undefined {
  if (parent === undefined) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && name === comm) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}
