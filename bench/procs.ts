/**
 * Every process the bench starts goes through here: pinned to one CPU with `taskset`, optionally
 * with a raised open-files limit (`prlimit`, up to the hard limit), in its own process group, and
 * registered so that it is stopped on the normal end, on an error and on Ctrl-C — together with the
 * run's temporary directories.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** CPU 0: load generators and upstreams. CPU 1: the proxy under test. */
export type Cpu = 0 | 1;

export interface SpawnOptions {
  /** Short name for messages. */
  readonly name: string;
  readonly cpu: Cpu;
  /** Raise the soft RLIMIT_NOFILE to this (must not exceed the hard limit). */
  readonly nofile?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** A running, registered process. */
export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The command line as run (for BENCHMARKS.md). */
  readonly command: string;
  /** Resolves with the exit code (or the signal name) once it has exited. */
  readonly exited: Promise<number | string>;
  /** Resolves with the first stdout line matching `re` (rejects on exit or timeout). */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** All stdout lines so far. */
  lines(): readonly string[];
  /** The last few KB of stderr. */
  stderrTail(): string;
  /** SIGTERM to its process group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Proc>();
const tempDirs = new Set<string>();
/** Set once the run is being torn down: nothing new may start. */
let stopping = false;

/** Quotes one argv word for display in a shell-like command line. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The full argv used to run `cmd args` pinned and limited as asked. */
export function pinnedArgv(cmd: string, args: readonly string[], opts: Pick<SpawnOptions, 'cpu' | 'nofile'>): string[] {
  const limit = opts.nofile === undefined ? [] : ['prlimit', `--nofile=${opts.nofile}:${opts.nofile}`, '--'];
  return ['taskset', '-c', String(opts.cpu), ...limit, cmd, ...args];
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Starts `cmd args` pinned to `opts.cpu`; the process is stopped by {@link stopAll} at the latest. */
export function spawnPinned(cmd: string, args: readonly string[], opts: SpawnOptions): Proc {
  if (stopping) throw new Error(`${opts.name}: not started, the bench is stopping`);
  const argv = pinnedArgv(cmd, args, opts);
  const child = spawn(argv[0], argv.slice(1), {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${opts.name}: could not start ${cmd}`);
  const pid = child.pid;
  const out: string[] = [];
  const waiters = new Set<(line: string) => void>();
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-4096);
  });
  if (child.stdout !== null) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      out.push(line);
      if (out.length > 10_000) out.splice(0, 5_000);
      for (const waiter of waiters) waiter(line);
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    // 'close', not 'exit': every stdout line has been read by then.
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });

  const proc: Proc = {
    name: opts.name,
    pid,
    child,
    command: argv.map(shellWord).join(' '),
    exited,
    lines: () => out,
    stderrTail: () => stderr,
    waitForLine(re, timeoutMs) {
      for (const line of out) {
        const m = re.exec(line);
        if (m !== null) return Promise.resolve(m);
      }
      return new Promise((resolve, reject) => {
        const done = (): void => {
          waiters.delete(onLine);
          clearTimeout(timer);
        };
        const onLine = (line: string): void => {
          const m = re.exec(line);
          if (m === null) return;
          done();
          resolve(m);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${opts.name}: no line matching ${re} within ${timeoutMs} ms\n${stderr}`));
        }, timeoutMs);
        waiters.add(onLine);
        void exited.then((code) => {
          done();
          reject(new Error(`${opts.name} exited (${code}) before printing ${re}\n${stderr}`));
        });
      });
    },
    async stop(graceMs = 3000) {
      if (!running.has(proc)) return exited.then(() => undefined);
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Children of the process (nginx workers) share its group; make sure none outlives it.
      killGroup(pid, 'SIGKILL');
      running.delete(proc);
    },
  };
  running.add(proc);
  void exited.then(() => {
    // A process that ends by itself (wrk, clients) leaves the registry; its group may still hold children.
    if (running.has(proc)) {
      killGroup(pid, 'SIGKILL');
      running.delete(proc);
    }
  });
  return proc;
}

/** Runs `cmd args` pinned to completion; resolves with its stdout (rejects on a non-zero exit). */
export async function runPinned(cmd: string, args: readonly string[], opts: SpawnOptions): Promise<{ stdout: string; command: string }> {
  const proc = spawnPinned(cmd, args, opts);
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${opts.name} failed (${code}): ${proc.command}\n${proc.stderrTail()}`);
  return { stdout: proc.lines().join('\n'), command: proc.command };
}

/** Registers a directory to delete at the end of the run. */
export function registerTempDir(dir: string): void {
  tempDirs.add(dir);
}

/** Stops every registered process and deletes the temporary directories. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(2000)));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

let installed = false;

/**
 * Makes sure nothing outlives the run: Ctrl-C / SIGTERM stop everything and exit 130/143; on any
 * exit, whatever is left is SIGKILLed (synchronously) and the temp dirs are removed.
 */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  const onSignal = (signal: NodeJS.Signals, code: number): void => {
    stopping = true;
    process.stderr.write(`\nbench: ${signal}, stopping everything it started…\n`);
    stopAll().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => onSignal('SIGINT', 130));
  process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  process.once('SIGHUP', () => onSignal('SIGHUP', 129));
  process.on('exit', () => {
    for (const proc of running) killGroup(proc.pid, 'SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}
