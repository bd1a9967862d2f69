/**
 * Measure 5: many concurrent open streams through one gateway process against the slow upstream
 * (one event per second). Per run: every stream must receive new events while all are open; RSS
 * per stream = (RSS with all open − idle RSS) / streams; then the upstream ends every stream and,
 * after a pause, RSS is read again. All runs use the same gateway process, so a leak shows as RSS
 * after the end growing from run to run.
 */
import type { Context } from '../context.js';
import { startGateway } from '../gateway.js';
import { helperPath, parseResults, startServerHelper } from '../helpers.js';
import { memory, openFiles, resetPeak } from '../proc-stats.js';
import { freePort } from '../ports.js';
import { spawnPinned } from '../procs.js';
import { waitForQuiet } from '../quiet.js';
import { summarise, type Summary } from '../stats.js';

interface OpenPhase {
  phase: 'open';
  open: number;
  failed: number;
  openMs: number;
  errors: Record<string, number>;
}
interface ProgressPhase {
  phase: 'progress';
  allProgressed: boolean;
  open: number;
  failed: number;
  fewestNewEvents: number;
}
interface EndedPhase {
  phase: 'ended';
  ended: number;
  failed: number;
  errors: Record<string, number>;
}

export interface StreamsRun {
  readonly opened: number;
  readonly failed: number;
  readonly openMs: number;
  readonly allProgressed: boolean;
  readonly fewestNewEvents: number;
  /** Gateway RSS right before the run, with every stream open, its peak, and after the end. */
  readonly rssBefore: number;
  readonly rssOpen: number;
  readonly rssPeak: number;
  readonly rssAfter: number;
  readonly gatewayFds: number;
  readonly ended: number;
  readonly errors: Record<string, number>;
}

export interface StreamsResult {
  /** Streams asked for by the issue, and run (fewer when the open-files hard limit forbids). */
  readonly requested: number;
  readonly streams: number;
  readonly fileLimit: number;
  readonly minEvents: number;
  readonly idleRss: number;
  readonly runs: readonly StreamsRun[];
  /** (RSS open − idle RSS) / streams, KB (1024 bytes). */
  readonly perStreamKb: Summary;
  readonly afterRssMb: Summary;
  /** RSS after the last run's end − after the first run's end, MB. */
  readonly driftMb: number;
  readonly allProgressed: boolean;
  readonly command: string;
}

const MB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How many streams one gateway can hold under `fileLimit` (two sockets each, plus headroom). */
export function streamCapacity(requested: number, fileLimit: number): number {
  return Math.min(requested, Math.floor((fileLimit - 64) / 2));
}

/** Runs measure 5 with its own slow upstream and gateway. */
export async function runStreams(ctx: Context): Promise<StreamsResult> {
  const { settings } = ctx;
  const streams = streamCapacity(settings.streams, ctx.nofile);
  const slow = await startServerHelper('upstreams/slow-sse.js', [], 0, ctx.nofile);
  const gateway = await startGateway({ root: ctx.root, port: await freePort(), upstreamPort: slow.port, nofile: ctx.nofile });
  await sleep(1000);
  const idleRss = memory(gateway.proc.pid).rss;
  const runs: StreamsRun[] = [];
  let command = '';
  for (let run = 1; run <= settings.streamRuns; run++) {
    await waitForQuiet();
    const rssBefore = memory(gateway.proc.pid).rss;
    resetPeak(gateway.proc.pid);
    const args = ['--port', String(gateway.port), '--count', String(streams), '--min-events', String(settings.streamMinEvents)];
    const client = spawnPinned(process.execPath, [helperPath('clients/streams.js'), ...args], { name: 'streams client', cpu: 0, nofile: ctx.nofile });
    command = client.command;
    const phase = async <T>(name: string, timeoutMs: number): Promise<T> => {
      const m = await client.waitForLine(new RegExp(`^RESULT .*"phase":"${name}".*$`), timeoutMs);
      const r = parseResults<T>([m[0]])[0];
      if (r === undefined) throw new Error(`streams client: bad ${name} line`);
      return r;
    };
    const opened = await phase<OpenPhase>('open', 180_000);
    ctx.log(`  run ${run}: ${opened.open} streams open in ${opened.openMs} ms (${opened.failed} failed)`);
    const progress = await phase<ProgressPhase>('progress', 120_000);
    const open = memory(gateway.proc.pid);
    const gatewayFds = openFiles(gateway.proc.pid);
    ctx.log(`  run ${run}: all progressed ${progress.allProgressed} (fewest new events ${progress.fewestNewEvents}); RSS ${(open.rss / MB).toFixed(1)} MB, ${gatewayFds} fds`);
    process.kill(slow.proc.pid, 'SIGUSR2');
    const ended = await phase<EndedPhase>('ended', 120_000);
    await client.exited;
    await sleep(settings.streamSettleSeconds * 1000);
    const after = memory(gateway.proc.pid);
    ctx.log(`  run ${run}: ${ended.ended} ended (${ended.failed} failed); RSS ${settings.streamSettleSeconds} s later ${(after.rss / MB).toFixed(1)} MB`);
    runs.push({
      opened: opened.open,
      failed: ended.failed,
      openMs: opened.openMs,
      allProgressed: progress.allProgressed,
      fewestNewEvents: progress.fewestNewEvents,
      rssBefore,
      rssOpen: open.rss,
      rssPeak: Math.max(open.hwm, after.hwm),
      rssAfter: after.rss,
      gatewayFds,
      ended: ended.ended,
      errors: { ...opened.errors, ...ended.errors },
    });
  }
  await gateway.proc.stop();
  await slow.proc.stop();
  const afterMb = runs.map((r) => r.rssAfter / MB);
  return {
    requested: settings.streams,
    streams,
    fileLimit: ctx.nofile,
    minEvents: settings.streamMinEvents,
    idleRss,
    runs,
    perStreamKb: summarise(runs.map((r) => (r.rssOpen - idleRss) / streams / 1024)),
    afterRssMb: summarise(afterMb),
    driftMb: afterMb.length > 1 ? afterMb[afterMb.length - 1] - afterMb[0] : 0,
    allProgressed: runs.every((r) => r.allProgressed && r.opened === streams),
    command,
  };
}
