/**
 * Starts the real CLI (`node bin/aifwd.js …`) as a child process, as a user would, and waits for
 * its banner. Uses the built `dist/` (npm test builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/aifwd.js');

export interface CliRun {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** A clean environment: the machine's PATH and HOME only, plus what the test gives. */
export function cleanEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env };
}

export function runCli(args: string[], { env = {}, cwd }: { env?: Record<string, string>; cwd?: string } = {}): CliRun {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: cwd ?? mkdtempSync(join(tmpdir(), 'aifwd-e2e-')),
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | string>((resolve) => {
    proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return { proc, stdout: () => out, stderr: () => err, exited };
}

export interface RunningGateway extends CliRun {
  url: string;
  port: number;
  pid: number;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

const running = new Set<RunningGateway>();

/** `aifwd run --host 127.0.0.1 --port 0 …args`, resolved once the banner shows the listen URL. */
export async function startGateway(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<RunningGateway> {
  const run = runCli(['run', '--host', '127.0.0.1', '--port', '0', ...args], options);
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${run.stdout()} ${run.stderr()}`)), 15_000);
    const check = (): void => {
      const m = /listening\s+https?:\/\/(?:\[[^\]]+\]|[^\s:]+):(\d+)/.exec(run.stdout());
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    run.proc.stdout?.on('data', check);
    void run.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code}) before listening: ${run.stderr()}`));
    });
  });
  const gw: RunningGateway = {
    ...run,
    url: `http://127.0.0.1:${port}`,
    port,
    pid: run.proc.pid as number,
    async stop(signal = 'SIGTERM') {
      running.delete(gw);
      if (run.proc.exitCode === null && run.proc.signalCode === null) run.proc.kill(signal);
      return run.exited;
    },
  };
  running.add(gw);
  return gw;
}

/** Kills every gateway a test left running (afterEach/afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((gw) => gw.stop('SIGKILL')));
}

/** Resident set size of a process in bytes, and its peak (VmHWM). Linux only. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}
