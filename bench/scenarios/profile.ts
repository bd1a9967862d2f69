/**
 * A CPU profile of aifwd under the non-stream (or SSE) load: the gateway started with
 * `node --cpu-prof`, warmed up, loaded with wrk -c50 for a few seconds, stopped (the profile is
 * written at exit) and summarised by function and by area; with `logChat` the chat log is on. Profiling slows the gateway, so these
 * runs are never used for the measured numbers; they say where the CPU goes.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../context.js';
import { summariseFile, type ProfileSummary } from '../cpuprofile-summary.js';
import { startGateway } from '../gateway.js';
import { freePort } from '../ports.js';
import { cpuSeconds } from '../proc-stats.js';
import { waitForQuiet } from '../quiet.js';
import { runWrk } from '../wrk.js';

export type ProfileKind = 'json' | 'sse';

export interface ProfileResult {
  readonly kind: ProfileKind;
  readonly seconds: number;
  readonly rps: number;
  /** CPU µs per request while profiled (profiling adds to it). The summary covers the load only. */
  readonly cpuPerRequestUs: number;
  /** Where the .cpuprofile was saved (relative to the repository root). */
  readonly file: string;
  readonly summary: ProfileSummary;
}

/** Profiles aifwd under `kind` load for `seconds` and saves bench/out/profile-<kind>.cpuprofile. */
export async function runProfile(ctx: Context, kind: ProfileKind, seconds: number, top: number, logChat = false): Promise<ProfileResult> {
  const profDir = join(ctx.dir, `prof-${kind}`);
  mkdirSync(profDir, { recursive: true });
  const upstreamPort = kind === 'json' ? ctx.infra.jsonPort : ctx.infra.sse.port;
  const logDir = logChat ? join(ctx.dir, `log-${kind}`) : undefined;
  const gateway = await startGateway({ root: ctx.root, port: await freePort(), upstreamPort, logDir, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  ctx.command(`aifwd under --cpu-prof (${kind})`, gateway.proc.command);
  const url = `http://127.0.0.1:${gateway.port}/v1/chat/completions`;
  const script = kind === 'json' ? ctx.scripts.json : ctx.scripts.sse;
  await waitForQuiet();
  await runWrk({ url, script, connections: 50, seconds: ctx.settings.warmupSeconds });
  const cpu0 = cpuSeconds(gateway.proc.pid);
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const load = await runWrk({ url, script, connections: 50, seconds });
  const toUs = Number(process.hrtime.bigint() / 1000n);
  const cpuPerRequestUs = ((cpuSeconds(gateway.proc.pid) - cpu0) * 1e6) / load.requests;
  await gateway.proc.stop(15_000);
  const written = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (written === undefined) throw new Error('the gateway wrote no .cpuprofile (did it exit cleanly on SIGTERM?)');
  const outDir = join(ctx.root, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const file = join('bench', 'out', `profile-${kind}${logChat ? '-log' : ''}.cpuprofile`);
  copyFileSync(join(profDir, written), join(ctx.root, file));
  ctx.log(`  profiled ${Math.round(load.rps)} req/s (${cpuPerRequestUs.toFixed(1)} µs CPU per request with the profiler on) → ${file}`);
  return { kind, seconds, rps: load.rps, cpuPerRequestUs, file, summary: summariseFile(join(ctx.root, file), ctx.root, top, { fromUs, toUs }) };
}
