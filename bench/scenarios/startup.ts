/**
 * Measure 7: time from process start to the first `/healthz` 200, and idle RSS one second later,
 * for aifwd and, as the floor Node itself sets, for a bare node:http server answering `/healthz`
 * (same pinning, same probe).
 */
import type { Context } from '../context.js';
import { startGateway } from '../gateway.js';
import { memory } from '../proc-stats.js';
import { freePort } from '../ports.js';
import { spawnPinned, type Proc } from '../procs.js';
import { waitFor200 } from '../probe.js';
import { waitForQuiet } from '../quiet.js';
import { summarise, type Summary } from '../stats.js';

export interface StartupResult {
  readonly startMs: Summary;
  readonly idleRssMb: Summary;
  /** The same for a bare node:http server (Node's own start-up and footprint). */
  readonly bareNode: { readonly startMs: Summary; readonly idleRssMb: Summary };
  readonly command: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

const BARE_SERVER = "require('node:http').createServer((q,s)=>s.end('OK')).listen(+process.argv[1],'127.0.0.1')";

async function startBare(port: number): Promise<{ proc: Proc; startMs: number }> {
  const t0 = performance.now();
  const proc = spawnPinned(process.execPath, ['-e', BARE_SERVER, String(port)], { name: 'bare node', cpu: 1 });
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const healthy = await waitFor200(port, '/healthz', 15_000, () => exited);
  return { proc, startMs: healthy - t0 };
}

/** Starts aifwd and the bare server `settings.startups` times each (fresh processes, alternating). */
export async function runStartup(ctx: Context): Promise<StartupResult> {
  const starts: number[] = [];
  const rss: number[] = [];
  const bareStarts: number[] = [];
  const bareRss: number[] = [];
  let command = '';
  for (let i = 1; i <= ctx.settings.startups; i++) {
    await waitForQuiet();
    const gateway = await startGateway({ root: ctx.root, port: await freePort(), upstreamPort: ctx.infra.jsonPort });
    command = gateway.proc.command;
    await sleep(1000);
    const idle = memory(gateway.proc.pid).rss / MB;
    await gateway.proc.stop();
    starts.push(gateway.startMs);
    rss.push(idle);

    await waitForQuiet();
    const bare = await startBare(await freePort());
    await sleep(1000);
    const bareIdle = memory(bare.proc.pid).rss / MB;
    await bare.proc.stop();
    bareStarts.push(bare.startMs);
    bareRss.push(bareIdle);
    ctx.log(`  start ${i}/${ctx.settings.startups}: aifwd healthy after ${gateway.startMs.toFixed(1)} ms, idle RSS ${idle.toFixed(1)} MB (bare node:http ${bare.startMs.toFixed(1)} ms, ${bareIdle.toFixed(1)} MB)`);
  }
  return {
    startMs: summarise(starts),
    idleRssMb: summarise(rss),
    bareNode: { startMs: summarise(bareStarts), idleRssMb: summarise(bareRss) },
    command,
  };
}
