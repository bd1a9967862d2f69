/**
 * What the kernel spends to write a file here, per KB: into pages of memory it takes anew (a file
 * that grows, as the chat log does) and into pages it already holds (the same file written over).
 * On a virtual machine whose free memory the hypervisor takes back (a balloon's free page
 * reporting, as on this one), a page the guest takes anew is backed again on its first write, and
 * that can cost several times the copy; measure 4 reports both figures next to the log's cost.
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface FilePageCost {
  /** Kernel CPU µs per KB appended to a new file (new page-cache pages). */
  readonly newPagesUsPerKb: number;
  /** The same, writing the same bytes over the file from its start (pages already in memory). */
  readonly cachedPagesUsPerKb: number;
}

/** Writes `mb` MB into a new file in `dir` in 480 KB writes (the size of a busy log's batch), then over it; removes it. */
export function measureFilePages(dir: string, mb = 256): FilePageCost {
  const chunk = Buffer.alloc(480 * 1024, 0x61);
  const count = Math.ceil((mb * 1024 * 1024) / chunk.length);
  const path = join(dir, 'file-pages.probe');
  const fd = openSync(path, 'w');
  try {
    const pass = (position: number | null): number => {
      const t0 = process.cpuUsage();
      for (let i = 0; i < count; i++) writeSync(fd, chunk, 0, chunk.length, position === null ? null : position + i * chunk.length);
      return process.cpuUsage(t0).system / ((count * chunk.length) / 1024);
    };
    const newPagesUsPerKb = pass(null);
    const cachedPagesUsPerKb = pass(0);
    return { newPagesUsPerKb, cachedPagesUsPerKb };
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
}
