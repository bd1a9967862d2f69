/**
 * `npm run bench`: measures aifwd side by side with nginx and a direct connection, then writes
 * bench/out/results-<time>.json (+ latest.json) and BENCHMARKS.md. Checks its tools first and
 * installs nothing; pins itself, wrk and the upstreams to CPU 0 and the proxies to CPU 1; stops
 * every process it started and deletes its temp dir, also on Ctrl-C and on errors.
 *
 *   BENCH_QUICK=1 npm run bench    # shorter runs, same scenarios
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from './context.js';
import { buildGateway, startGateway, type RunningGateway } from './gateway.js';
import { startInfra } from './infra.js';
import { describeMachine, INSTALL_LINE, missingTools } from './machine.js';
import { chatRequestBody } from './payloads.js';
import { freePort } from './ports.js';
import { hardFileLimit } from './proc-stats.js';
import { installCleanup, registerTempDir, stopAll } from './procs.js';
import { noiseSpentSeconds, setNoiseBudget } from './quiet.js';
import { renderReport } from './report.js';
import type { BenchResults, Outcome } from './results.js';
import { runChatLog } from './scenarios/chat-log.js';
import { runLatency } from './scenarios/latency.js';
import { runProfile } from './scenarios/profile.js';
import { runSse } from './scenarios/sse.js';
import { runStartup } from './scenarios/startup.js';
import { runStreams } from './scenarios/streams.js';
import { runThroughput } from './scenarios/throughput.js';
import { runTransfers } from './scenarios/transfers.js';
import { loadSettings } from './settings.js';
import { writeWrkScript } from './wrk.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function attempt<T>(title: string, run: () => Promise<T>): Promise<Outcome<T>> {
  log(`\n== ${title}`);
  const t0 = performance.now();
  try {
    const value = await run();
    return { ok: true, value, seconds: (performance.now() - t0) / 1000 };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log(`  FAILED: ${error}`);
    return { ok: false, error };
  }
}

/** Runs `scenario` with a gateway in front of `upstreamPort`, stopping the gateway afterwards. */
async function withGateway<T>(ctx: Context, upstreamPort: number, scenario: (gw: RunningGateway) => Promise<T>): Promise<T> {
  const gateway = await startGateway({ root: ctx.root, port: await freePort(), upstreamPort });
  ctx.command('aifwd', gateway.proc.command);
  try {
    return await scenario(gateway);
  } finally {
    await gateway.proc.stop();
  }
}

function git(args: string[]): string {
  const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

async function main(): Promise<void> {
  const missing = missingTools();
  if (missing.length > 0) {
    log(`bench: ${missing.join(', ')} not found. Install with:\n  ${INSTALL_LINE}`);
    process.exit(1);
  }
  if (cpus().length < 2) {
    log('bench: needs at least 2 CPUs (the proxy on CPU 1, load and upstreams on CPU 0)');
    process.exit(1);
  }
  installCleanup();
  // The orchestrator itself stays off the proxy's core.
  spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });

  const settings = loadSettings(process.env);
  setNoiseBudget(settings.noiseBudgetSeconds);
  const startedAt = new Date();
  log(`aifwd bench (${settings.quick ? 'quick' : 'full'} run): building the gateway…`);
  const build = buildGateway(ROOT);
  if (!build.ok) log(`  warning: tsc reported ${build.errors} type errors (JavaScript emitted anyway):\n  ${build.firstErrors.join('\n  ')}`);

  const dir = mkdtempSync(join(tmpdir(), 'aifwd-bench-'));
  registerTempDir(dir);
  const nofile = Math.min(hardFileLimit(), 65_536);
  const infra = await startInfra(dir, nofile);
  const commands: Record<string, string> = {};
  const ctx: Context = {
    root: ROOT,
    dir,
    settings,
    infra,
    scripts: { json: writeWrkScript(dir, 'chat', chatRequestBody(false)), sse: writeWrkScript(dir, 'chat-stream', chatRequestBody(true)) },
    nofile,
    log,
    command(what, command) {
      if (!(what in commands) && command !== '') commands[what] = command;
    },
  };
  ctx.command('nginx upstream (JSON)', infra.json.proc.command);
  ctx.command('SSE upstream', infra.sse.proc.command);
  ctx.command('transfer upstream', infra.transfer.proc.command);
  ctx.command('nginx proxy', infra.proxy.proc.command);

  const throughput = await attempt('1. non-stream throughput, 50 connections', () => withGateway(ctx, infra.jsonPort, (gw) => runThroughput(ctx, gw)));
  const latency = await attempt('2. added latency, 1 connection', () => withGateway(ctx, infra.jsonPort, (gw) => runLatency(ctx, gw)));
  const sse = await attempt('3. SSE, 50 events per response', () => withGateway(ctx, infra.sse.port, (gw) => runSse(ctx, gw)));
  const chatLog = await attempt('4. chat log on vs off', () => withGateway(ctx, infra.jsonPort, (gw) => runChatLog(ctx, gw)));
  const streams = await attempt('5. concurrent open streams', () => runStreams(ctx));
  const transfers = await attempt('6. 200 MB upload and download', () => runTransfers(ctx));
  const startup = await attempt('7. start to healthy, idle RSS', () => runStartup(ctx));
  const profile = await attempt('CPU profile of aifwd, non-stream load', () => runProfile(ctx, 'json', settings.profileSeconds, 25));
  const profileSse = await attempt('CPU profile of aifwd, SSE load', () => runProfile(ctx, 'sse', settings.profileSeconds, 25));

  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    settings,
    machine: describeMachine(),
    gateway: {
      version: (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
      commit: git(['rev-parse', '--short', 'HEAD']),
      dirtyFiles: git(['status', '--porcelain']).split('\n').filter((l) => l !== '').length,
      build,
    },
    fileLimit: nofile,
    noiseSeconds: noiseSpentSeconds(),
    commands,
    files: {
      'nginx proxy config': infra.proxy.config,
      'nginx upstream config': infra.json.config.replace(/return 200 '.*';/, "return 200 '<the 354-byte chat.completion JSON>';"),
      'wrk script (non-stream)': readFileSync(ctx.scripts.json, 'utf8'),
    },
    throughput,
    latency,
    sse,
    chatLog,
    streams,
    transfers,
    startup,
    profile,
    profileSse,
  };
  await stopAll();

  const outDir = join(ROOT, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const stamp = startedAt.toISOString().replaceAll(':', '-').replace(/\..*$/, '');
  writeFileSync(join(outDir, `results-${stamp}.json`), json);
  writeFileSync(join(outDir, 'latest.json'), json);
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), renderReport(results));
  log(`\nwrote BENCHMARKS.md and bench/out/results-${stamp}.json (${results.seconds.toFixed(0)} s)`);
}

main().catch(async (err: unknown) => {
  log(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await stopAll();
  process.exit(1);
});
