/**
 * Measure 4: non-stream throughput with the chat log on vs off (POST /v1/chat/completions, so every
 * request is logged), rounds interleaved off/on. Skipped when the gateway refuses `--log-chat`;
 * flagged when it accepts the flag but writes nothing (then the ratio measures no chat log).
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../context.js';
import { startGateway, type RunningGateway } from '../gateway.js';
import { freePort } from '../ports.js';
import { paired, summarise, type Summary } from '../stats.js';
import { cpuPerUnitUs, runRounds, type LoadSample } from './load.js';

export type ChatLogResult =
  | { readonly status: 'skipped'; readonly reason: string }
  | {
      readonly status: 'measured';
      /** Bytes the gateway wrote into its log dir (0 = the flag is accepted but logs nothing yet). */
      readonly logBytes: number;
      readonly logFiles: number;
      readonly rps: { readonly off: Summary; readonly on: Summary };
      readonly cpuPerRequestUs: { readonly off: Summary; readonly on: Summary };
      /** Share of CPU 1 each gateway used. */
      readonly busy: { readonly off: Summary; readonly on: Summary };
      /** Throughput on / off, per round. */
      readonly ratio: Summary;
      readonly errors: number;
      readonly samples: readonly LoadSample[];
    };

function dirSize(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return { bytes, files };
}

/** Runs measure 4; `off` is a running gateway in front of the JSON upstream without the chat log. */
export async function runChatLog(ctx: Context, off: RunningGateway): Promise<ChatLogResult> {
  const logDir = join(ctx.dir, 'chat-log');
  mkdirSync(logDir, { recursive: true });
  let on: RunningGateway;
  try {
    on = await startGateway({ root: ctx.root, port: await freePort(), upstreamPort: ctx.infra.jsonPort, logDir });
  } catch (err) {
    const reason = (err as Error).message.split('\n').find((l) => l.startsWith('aifwd:')) ?? (err as Error).message.split('\n')[0];
    return { status: 'skipped', reason: `the gateway did not start with --log-chat (${reason})` };
  }
  ctx.command('aifwd with the chat log', on.proc.command);
  const path = '/v1/chat/completions';
  const rounds = await runRounds(
    [
      { label: 'log off', url: `http://127.0.0.1:${off.port}${path}`, pid: off.proc.pid, onCpu1: true, upstreamPid: ctx.infra.json.workerPid },
      { label: 'log on', url: `http://127.0.0.1:${on.port}${path}`, pid: on.proc.pid, onCpu1: true, upstreamPid: ctx.infra.json.workerPid },
    ],
    { script: ctx.scripts.json, connections: 50, seconds: ctx.settings.seconds, warmupSeconds: ctx.settings.warmupSeconds, runs: ctx.settings.runs, log: ctx.log },
  );
  // Stopping flushes the log.
  await on.proc.stop(10_000);
  const size = dirSize(logDir);
  const offRuns = rounds.get('log off') ?? [];
  const onRuns = rounds.get('log on') ?? [];
  return {
    status: 'measured',
    logBytes: size.bytes,
    logFiles: size.files,
    rps: { off: summarise(offRuns.map((s) => s.rps)), on: summarise(onRuns.map((s) => s.rps)) },
    cpuPerRequestUs: { off: summarise(offRuns.map((s) => cpuPerUnitUs(s))), on: summarise(onRuns.map((s) => cpuPerUnitUs(s))) },
    busy: { off: summarise(offRuns.map((s) => s.cpuSeconds / s.wallSeconds)), on: summarise(onRuns.map((s) => s.cpuSeconds / s.wallSeconds)) },
    ratio: summarise(paired(onRuns.map((s) => s.rps), offRuns.map((s) => s.rps), (a, b) => a / b)),
    errors: [...offRuns, ...onRuns].reduce((n, s) => n + s.errors, 0),
    samples: [...offRuns, ...onRuns],
  };
}
