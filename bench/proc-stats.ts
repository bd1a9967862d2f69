/**
 * What the bench reads from /proc about a process: CPU time (user + system, all threads, plus
 * waited-for children), resident memory (VmRSS) and its peak (VmHWM, resettable), and children.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

let clockTicks = 0;

function ticksPerSecond(): number {
  if (clockTicks === 0) {
    clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  }
  return clockTicks;
}

function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": comm may hold spaces and parentheses, so split after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds used so far in user mode and in the kernel (every thread, plus waited-for children). */
export interface CpuTimes {
  readonly user: number;
  readonly system: number;
}

/** utime + cutime and stime + cstime of a process, in seconds. */
export function cpuTimes(pid: number): CpuTimes {
  const f = statFields(pid);
  // f[0] is field 3 (state), so utime (14) is f[11], stime f[12], cutime f[13], cstime f[14].
  const hz = ticksPerSecond();
  return { user: (Number(f[11]) + Number(f[13])) / hz, system: (Number(f[12]) + Number(f[14])) / hz };
}

/** CPU seconds used so far: utime + stime + cutime + cstime (every thread of the process). */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** Resident memory now and its peak since start (or since {@link resetPeak}), in bytes. */
export interface Memory {
  readonly rss: number;
  readonly hwm: number;
}

/** Reads VmRSS and VmHWM from /proc/<pid>/status. */
export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (m === null) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resets VmHWM to the current RSS (`echo 5 > /proc/<pid>/clear_refs`, Linux ≥ 4.0). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** Pids whose parent is `pid` (nginx workers of a master). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(Number(entry))[1]) === pid) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** Number of open file descriptors of a process. */
export function openFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Busy CPU seconds of one CPU since boot (everything but idle and iowait, from /proc/stat). */
export function cpuBusySeconds(cpu: number): number {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (line === undefined) throw new Error(`no cpu${cpu} in /proc/stat`);
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
  return busy / ticksPerSecond();
}

/** The hard RLIMIT_NOFILE of this process (what children may raise their soft limit to). */
export function hardFileLimit(): number {
  const m = /^Max open files\s+\d+\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  if (m === null) return 1024;
  return m[1] === 'unlimited' ? 1_048_576 : Number(m[1]);
}
