/** Starting the bench's own Node helpers (upstreams and clients in bench/dist) pinned to a CPU. */
import { fileURLToPath } from 'node:url';
import { LISTENING } from './child.js';
import { runPinned, spawnPinned, type Cpu, type Proc } from './procs.js';

/** Absolute path of a compiled helper, e.g. `upstreams/sse.js`. */
export function helperPath(relative: string): string {
  return fileURLToPath(new URL(`./${relative}`, import.meta.url));
}

/** A helper server that printed its port. */
export interface Helper {
  readonly proc: Proc;
  readonly port: number;
}

/** Starts a server helper and waits for its `LISTENING <port>` line. */
export async function startServerHelper(relative: string, args: readonly string[], cpu: Cpu, nofile?: number): Promise<Helper> {
  const proc = spawnPinned(process.execPath, [helperPath(relative), ...args], { name: relative, cpu, nofile });
  const m = await proc.waitForLine(new RegExp(`^${LISTENING}(\\d+)$`), 10_000);
  return { proc, port: Number(m[1]) };
}

/** Runs a client helper to completion on CPU 0 and returns its `RESULT` objects, in order. */
export async function runClientHelper<T>(relative: string, args: readonly string[]): Promise<{ results: T[]; command: string }> {
  const { stdout, command } = await runPinned(process.execPath, [helperPath(relative), ...args], { name: relative, cpu: 0 });
  return { results: parseResults<T>(stdout.split('\n')), command };
}

/** The JSON objects of every `RESULT ` line. */
export function parseResults<T>(lines: readonly string[]): T[] {
  return lines.filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7)) as T);
}
