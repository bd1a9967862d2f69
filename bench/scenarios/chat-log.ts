/**
 * Measure 4: throughput with the chat log on vs off (POST /v1/chat/completions, so every request is
 * logged), rounds interleaved off/on. The target is checked on non-stream requests, where the log's
 * per-exchange work weighs most; the same is measured on SSE responses of 50 events (what chat
 * clients mostly ask for), where it is spread over a longer exchange. In the same rounds, a
 * yardstick: the gateway with the least work any log must do (bench/reference/minimal-logger.ts),
 * which shows how far the target is from what logging costs at the least; and the same gateway
 * with its log written to /dev/null, which shows what the file's pages cost (with the kernel's cost
 * of writing new and cached file pages, bench/file-pages.ts). The first two ratios are also
 * measured in pairs (the two gateways loaded at once), which cancels the drift between rounds.
 * Skipped when the gateway refuses `--log-chat`; flagged when it accepts the flag but writes
 * nothing (then the ratio measures no chat log).
 */
import { mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../context.js';
import { type FilePageCost, measureFilePages } from '../file-pages.js';
import { startGateway, startMinimalLogger, type RunningGateway } from '../gateway.js';
import { freePort } from '../ports.js';
import { waitForQuiet } from '../quiet.js';
import { paired, summarise, type Summary } from '../stats.js';
import { errorCount, runWrk, type WrkResult } from '../wrk.js';
import { cpuPerUnitUs, runRounds, systemPerUnitUs, type LoadSample } from './load.js';

export type ChatLogResult =
  | { readonly status: 'skipped'; readonly reason: string }
  | {
      readonly status: 'measured';
      /** Bytes the gateway wrote into its log dir (0 = the flag is accepted but logs nothing yet). */
      readonly logBytes: number;
      readonly logFiles: number;
      readonly rps: { readonly off: Summary; readonly on: Summary };
      readonly cpuPerRequestUs: { readonly off: Summary; readonly on: Summary };
      /** The kernel part of it. */
      readonly systemPerRequestUs: { readonly off: Summary; readonly on: Summary };
      /** Share of CPU 1 each gateway used. */
      readonly busy: { readonly off: Summary; readonly on: Summary };
      /** Throughput on / off, per round. */
      readonly ratio: Summary;
      /**
       * The yardstick: the same gateway with the least a log can do (bench/reference/
       * minimal-logger.ts), measured in the same rounds; `null` when it did not start.
       */
      readonly minimal: { readonly rps: Summary; readonly cpuPerRequestUs: Summary; readonly ratio: Summary } | null;
      /**
       * The same gateway and log with its file on /dev/null (`chat.log` a link to it), measured in
       * the same rounds: the log's cost but the file's pages; `null` when it did not start.
       */
      readonly devNull: { readonly rps: Summary; readonly cpuPerRequestUs: Summary; readonly ratio: Summary } | null;
      /** What the kernel spends per KB written to a file in the log's directory (bench/file-pages.ts). */
      readonly filePages: FilePageCost;
      /**
       * Throughput on / off with both gateways loaded at once (each by its own wrk), sharing CPU 1,
       * per round — which cancels the drift between rounds of the machine and of wrk — and the same
       * for the yardstick (`null` when it did not start).
       */
      readonly paired: {
        readonly ratio: Summary;
        readonly minimalRatio: Summary | null;
        /** The gateway logging to /dev/null over the one logging to the file, loaded at once: what the file's pages cost. */
        readonly nullOverFile: Summary | null;
      };
      /** The same on SSE responses of 50 events (responses per second, CPU µs per response). */
      readonly sse: {
        readonly rps: { readonly off: Summary; readonly on: Summary };
        readonly cpuPerResponseUs: { readonly off: Summary; readonly on: Summary };
        /** Share of CPU 1 each gateway used. */
        readonly busy: { readonly off: Summary; readonly on: Summary };
        readonly ratio: Summary;
      };
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

type LogState = 'off' | 'on' | 'minimal' | 'null';

/** wrk rounds, interleaved, against a gateway with the log off, one with it on, and the yardsticks given. */
async function onOff(
  ctx: Context,
  gateways: { off: RunningGateway; on: RunningGateway; minimal?: RunningGateway; null?: RunningGateway },
  sse: boolean,
): Promise<Record<LogState, LoadSample[]>> {
  const path = '/v1/chat/completions';
  const upstreamPid = sse ? ctx.infra.sse.proc.pid : ctx.infra.json.workerPid;
  const label = (state: LogState): string => `log ${state === 'null' ? 'on /dev/null' : state}${sse ? ' (SSE)' : ''}`;
  const states = (['off', 'on', 'minimal', 'null'] as const).filter((state) => gateways[state] !== undefined);
  const rounds = await runRounds(
    states.map((state) => {
      const gateway = gateways[state] as RunningGateway;
      return { label: label(state), url: `http://127.0.0.1:${gateway.port}${path}`, pid: gateway.proc.pid, onCpu1: true, upstreamPid };
    }),
    { script: sse ? ctx.scripts.sse : ctx.scripts.json, connections: 50, seconds: ctx.settings.seconds, warmupSeconds: ctx.settings.warmupSeconds, runs: ctx.settings.runs, log: ctx.log },
  );
  return { off: rounds.get(label('off')) ?? [], on: rounds.get(label('on')) ?? [], minimal: rounds.get(label('minimal')) ?? [], null: rounds.get(label('null')) ?? [] };
}

/**
 * `b`'s throughput over `a`'s with both loaded at once for `seconds` (one wrk each, on CPU 0), in
 * `runs` rounds after a short warm-up; the wrk that starts first alternates, as a start of a few
 * milliseconds ahead is worth about a percent.
 */
export async function pairedRatios(ctx: Context, a: RunningGateway, b: RunningGateway, label: string): Promise<number[]> {
  const url = (g: RunningGateway): string => `http://127.0.0.1:${g.port}/v1/chat/completions`;
  const both = (seconds: number, bFirst: boolean): Promise<[WrkResult, WrkResult]> => {
    const run = (g: RunningGateway): Promise<WrkResult> => runWrk({ url: url(g), script: ctx.scripts.json, connections: 50, seconds });
    return bFirst ? Promise.all([run(b), run(a)]).then(([rb, ra]) => [ra, rb]) : Promise.all([run(a), run(b)]);
  };
  await waitForQuiet();
  await both(ctx.settings.warmupSeconds, false);
  const ratios: number[] = [];
  for (let run = 0; run < ctx.settings.runs; run++) {
    await waitForQuiet();
    const [ra, rb] = await both(ctx.settings.seconds, run % 2 === 1);
    const ratio = rb.rps / ra.rps;
    ratios.push(ratio);
    ctx.log(`  run ${run + 1}/${ctx.settings.runs} ${label} in pairs: ${Math.round(rb.rps)} vs ${Math.round(ra.rps)} req/s, ${ratio.toFixed(3)}x, ${errorCount(ra) + errorCount(rb)} errors`);
  }
  return ratios;
}

/** A variant's rounds summarised, with its throughput over the gateway without a log per round; `null` when it did not run. */
function versusOff(runs: readonly LoadSample[], offRuns: readonly LoadSample[]): { rps: Summary; cpuPerRequestUs: Summary; ratio: Summary } | null {
  if (runs.length === 0) return null;
  return {
    rps: summarise(runs.map((s) => s.rps)),
    cpuPerRequestUs: summarise(runs.map((s) => cpuPerUnitUs(s))),
    ratio: summarise(paired(runs.map((s) => s.rps), offRuns.map((s) => s.rps), (a, b) => a / b)),
  };
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
  const minimalLogDir = join(ctx.dir, 'minimal-log');
  const minimal = await startMinimalLogger({ root: ctx.root, port: await freePort(), upstreamPort: ctx.infra.jsonPort, logDir: minimalLogDir }).catch((err: unknown) => {
    ctx.log(`  the minimal logger did not start, measuring without it: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  });
  if (minimal !== undefined) ctx.command('the minimal logger (measure 4)', minimal.proc.command);
  // The same log, its file /dev/null: rotation off, so the link stays.
  const nullLogDir = join(ctx.dir, 'chat-log-null');
  mkdirSync(nullLogDir, { recursive: true });
  symlinkSync('/dev/null', join(nullLogDir, 'chat.log'));
  const devNull = await startGateway({ root: ctx.root, port: await freePort(), upstreamPort: ctx.infra.jsonPort, logDir: nullLogDir, logRotateSize: '0' }).catch((err: unknown) => {
    ctx.log(`  the gateway logging to /dev/null did not start, measuring without it: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  });
  if (devNull !== undefined) ctx.command('aifwd with the chat log on /dev/null (measure 4)', `ln -s /dev/null ${join(nullLogDir, 'chat.log')}\n${devNull.proc.command}`);
  const { off: offRuns, on: onRuns, minimal: minimalRuns, null: nullRuns } = await onOff(ctx, { off, on, minimal, null: devNull }, false);
  const pairedOn = await pairedRatios(ctx, off, on, 'log on ÷ off');
  const pairedMinimal = minimal === undefined ? null : await pairedRatios(ctx, off, minimal, 'minimal ÷ off');
  const pairedNull = devNull === undefined ? null : await pairedRatios(ctx, on, devNull, 'log on /dev/null ÷ on the file');
  // Stopping flushes the log.
  await Promise.all([on.proc.stop(10_000), minimal?.proc.stop(), devNull?.proc.stop(10_000)]);
  const filePages = measureFilePages(logDir);
  ctx.log(`  file pages: ${filePages.newPagesUsPerKb.toFixed(2)} µs per KB new, ${filePages.cachedPagesUsPerKb.toFixed(2)} µs per KB cached`);

  const sseLogDir = join(ctx.dir, 'chat-log-sse');
  const sseOff = await startGateway({ root: ctx.root, port: await freePort(), upstreamPort: ctx.infra.sse.port });
  const sseOn = await startGateway({ root: ctx.root, port: await freePort(), upstreamPort: ctx.infra.sse.port, logDir: sseLogDir }).catch(async (err: unknown) => {
    await sseOff.proc.stop();
    throw err;
  });
  let sse: { off: LoadSample[]; on: LoadSample[] };
  try {
    sse = await onOff(ctx, { off: sseOff, on: sseOn }, true);
  } finally {
    await Promise.all([sseOff.proc.stop(), sseOn.proc.stop(10_000)]);
  }
  const size = dirSize(logDir);
  const sseSize = dirSize(sseLogDir);
  return {
    status: 'measured',
    logBytes: size.bytes + sseSize.bytes,
    logFiles: size.files + sseSize.files,
    rps: { off: summarise(offRuns.map((s) => s.rps)), on: summarise(onRuns.map((s) => s.rps)) },
    cpuPerRequestUs: { off: summarise(offRuns.map((s) => cpuPerUnitUs(s))), on: summarise(onRuns.map((s) => cpuPerUnitUs(s))) },
    systemPerRequestUs: { off: summarise(offRuns.map((s) => systemPerUnitUs(s))), on: summarise(onRuns.map((s) => systemPerUnitUs(s))) },
    busy: { off: summarise(offRuns.map((s) => s.cpuSeconds / s.wallSeconds)), on: summarise(onRuns.map((s) => s.cpuSeconds / s.wallSeconds)) },
    ratio: summarise(paired(onRuns.map((s) => s.rps), offRuns.map((s) => s.rps), (a, b) => a / b)),
    minimal: versusOff(minimalRuns, offRuns),
    devNull: versusOff(nullRuns, offRuns),
    filePages,
    paired: {
      ratio: summarise(pairedOn),
      minimalRatio: pairedMinimal === null ? null : summarise(pairedMinimal),
      nullOverFile: pairedNull === null ? null : summarise(pairedNull),
    },
    sse: {
      rps: { off: summarise(sse.off.map((s) => s.rps)), on: summarise(sse.on.map((s) => s.rps)) },
      cpuPerResponseUs: { off: summarise(sse.off.map((s) => cpuPerUnitUs(s))), on: summarise(sse.on.map((s) => cpuPerUnitUs(s))) },
      busy: { off: summarise(sse.off.map((s) => s.cpuSeconds / s.wallSeconds)), on: summarise(sse.on.map((s) => s.cpuSeconds / s.wallSeconds)) },
      ratio: summarise(paired(sse.on.map((s) => s.rps), sse.off.map((s) => s.rps), (a, b) => a / b)),
    },
    errors: [...offRuns, ...onRuns, ...minimalRuns, ...nullRuns, ...sse.off, ...sse.on].reduce((n, s) => n + s.errors, 0),
    samples: [...offRuns, ...onRuns, ...minimalRuns, ...nullRuns, ...sse.off, ...sse.on],
  };
}
