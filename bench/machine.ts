/**
 * The tools the bench needs (checked before anything starts; it installs nothing) and the facts
 * about the machine that BENCHMARKS.md records.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';

/** The one line that installs what is missing (Debian/Ubuntu). */
export const INSTALL_LINE = 'sudo apt-get install -y wrk nginx-light util-linux';

const TOOLS = ['wrk', 'nginx', 'taskset', 'prlimit'] as const;

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** The required tools that are not on PATH. */
export function missingTools(): string[] {
  return TOOLS.filter((t) => !has(t));
}

export interface Machine {
  readonly cpuModel: string;
  readonly cpus: number;
  readonly kernel: string;
  readonly node: string;
  readonly nginx: string;
  readonly wrk: string;
  readonly memoryGb: number;
  readonly hypervisor: string | undefined;
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0].trim();
}

/** Reads CPU, kernel and tool versions. */
export function describeMachine(): Machine {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const mem = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  const hypervisor = /^flags\s*:.*\bhypervisor\b/m.test(info) ? firstLine('sh', ['-c', "lscpu | sed -n 's/^Hypervisor vendor: *//p'"]) || 'yes' : undefined;
  return {
    cpuModel: model.trim(),
    cpus: cpus().length,
    kernel: release(),
    node: process.version,
    nginx: firstLine('nginx', ['-v']).replace(/^nginx version: /, ''),
    wrk: firstLine('wrk', ['-v']).replace(/\s+Copyright.*$/, ''),
    memoryGb: mem === null ? 0 : Number(mem[1]) / 1024 / 1024,
    hypervisor,
  };
}
