/**
 * aifwd under test: built from the working tree, started pinned to CPU 1 with every core feature on
 * (key pool, forward key, IP whitelist; the chat log when asked), ready once `/healthz` answers 200.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnPinned, type Proc } from './procs.js';
import { waitFor200 } from './probe.js';
import { FORWARD_KEY } from './wrk.js';

/** Outcome of `tsc -p tsconfig.json` on the gateway. */
export interface BuildResult {
  readonly ok: boolean;
  /** Number of `error TS` diagnostics (tsc still emits JavaScript when there are some). */
  readonly errors: number;
  readonly firstErrors: string[];
}

/** Compiles the gateway (`tsc -p tsconfig.json` in `root`, then the bundle the CLI runs); throws only when there is nothing to run. */
export function buildGateway(root: string): BuildResult {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8' });
  const lines = `${run.stdout}${run.stderr}`.split('\n').filter((l) => l.includes('error TS'));
  if (!existsSync(join(root, 'dist', 'cli.js'))) throw new Error(`the gateway did not build:\n${lines.join('\n')}`);
  // The CLI runs the bundle of dist/ (bin/aifwd.js): made again from what tsc just wrote.
  const bundle = spawnSync('npm', ['run', '--silent', 'build:bundle'], { cwd: root, encoding: 'utf8' });
  if (bundle.status !== 0) throw new Error(`the gateway's bundle did not build:\n${bundle.stdout}${bundle.stderr}`);
  return { ok: run.status === 0, errors: lines.length, firstErrors: lines.slice(0, 5) };
}

export interface GatewayOptions {
  readonly root: string;
  readonly port: number;
  readonly upstreamPort: number;
  /** Turn the chat log on, writing into this directory. */
  readonly logDir?: string;
  /** `--log-rotate-size` (default: the gateway's). */
  readonly logRotateSize?: string;
  /** Extra node flags (`--cpu-prof`, …). */
  readonly nodeFlags?: readonly string[];
  readonly nofile?: number;
}

/**
 * Every core feature on, by setting name: what the gateway under test runs with, as flags
 * ({@link gatewayArgs}) or as `loadConfig` flags (measure 4's yardstick, reference/minimal-logger.ts).
 */
export function coreSettings(port: number, upstreamPort: number): Record<string, string> {
  return {
    host: '127.0.0.1',
    port: String(port),
    base_url: `http://127.0.0.1:${upstreamPort}`,
    api_key: 'sk-fake-a,sk-fake-b',
    forward_key: FORWARD_KEY,
    ip_whitelist: '127.0.0.0/8',
  };
}

/** The `aifwd run` arguments (after `node bin/aifwd.js`). */
export function gatewayArgs(o: GatewayOptions): string[] {
  const args = ['run'];
  for (const [name, value] of Object.entries(coreSettings(o.port, o.upstreamPort))) args.push(`--${name.replaceAll('_', '-')}`, value);
  if (o.logDir !== undefined) args.push('--log-chat', '--log-dir', o.logDir);
  if (o.logRotateSize !== undefined) args.push('--log-rotate-size', o.logRotateSize);
  return args;
}

/** A started gateway and when it first answered `/healthz`. */
export interface RunningGateway {
  readonly proc: Proc;
  readonly port: number;
  /** Milliseconds from spawn to the first `/healthz` 200 (includes taskset/prlimit exec). */
  readonly startMs: number;
}

/** Starts aifwd on CPU 1 and resolves once `/healthz` answers 200 (rejects if it exits first). */
export function startGateway(o: GatewayOptions): Promise<RunningGateway> {
  return startPinned('aifwd', o, [...(o.nodeFlags ?? []), join(o.root, 'bin', 'aifwd.js'), ...gatewayArgs(o)]);
}

/**
 * Starts measure 4's yardstick (bench/reference/minimal-logger.ts: the same gateway with the least a
 * chat log can do) on CPU 1, writing into `o.logDir`.
 */
export function startMinimalLogger(o: GatewayOptions & { readonly logDir: string }): Promise<RunningGateway> {
  const script = join(o.root, 'bench', 'dist', 'reference', 'minimal-logger.js');
  return startPinned('minimal logger', o, [script, String(o.port), String(o.upstreamPort), o.logDir]);
}

async function startPinned(name: string, o: GatewayOptions, argv: string[]): Promise<RunningGateway> {
  const t0 = performance.now();
  const proc = spawnPinned(process.execPath, argv, { name, cpu: 1, cwd: o.root, nofile: o.nofile, env: { ...process.env, NO_COLOR: '1' } });
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const healthy = await Promise.race([
    waitFor200(o.port, '/healthz', 15_000, () => exited),
    proc.exited.then((code): never => {
      throw new Error(`${name} exited (${code}) before it was healthy: ${proc.command}\n${proc.stderrTail()}`);
    }),
  ]);
  return { proc, port: o.port, startMs: healthy - t0 };
}
