/**
 * Measure 6: a 200 MB upload and a 200 MB download, direct and through nginx and aifwd: MB/s and
 * the proxy's peak RSS growth (VmHWM − VmRSS before; the peak is reset before every transfer).
 */
import type { Context } from '../context.js';
import { startGateway } from '../gateway.js';
import { runClientHelper } from '../helpers.js';
import { cpuSeconds, memory, resetPeak } from '../proc-stats.js';
import { freePort } from '../ports.js';
import { waitForQuiet } from '../quiet.js';
import { paired, summarise, type Summary } from '../stats.js';

interface TransferOutput {
  readonly ok: boolean;
  readonly mbPerSecond: number;
  readonly seconds: number;
}

type Mode = 'upload' | 'download';
type Label = 'direct' | 'nginx' | 'aifwd';

export interface TransferModeResult {
  readonly mbPerSecond: { readonly direct: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  /** aifwd MB/s / nginx MB/s, per round. */
  readonly ratio: Summary;
  /** Peak RSS growth of the proxy during the transfer, MB. */
  readonly rssGrowthMb: { readonly nginx: Summary; readonly aifwd: Summary };
  /** Share of its core each proxy (or the upstream, for direct) used during the transfer. */
  readonly busy: { readonly direct: Summary; readonly nginx: Summary; readonly aifwd: Summary };
}

export interface TransferResult {
  readonly bytes: number;
  readonly upload: TransferModeResult;
  readonly download: TransferModeResult;
}

const MB = 1024 * 1024;

/** Runs measure 6 with a gateway in front of the transfer upstream. */
export async function runTransfers(ctx: Context): Promise<TransferResult> {
  const { infra, settings } = ctx;
  const gateway = await startGateway({ root: ctx.root, port: await freePort(), upstreamPort: infra.transfer.port });
  const targets: Record<Label, { port: number; pid: number }> = {
    direct: { port: infra.transfer.port, pid: infra.transfer.proc.pid },
    nginx: { port: infra.proxyPorts.transfer, pid: infra.proxy.workerPid },
    aifwd: { port: gateway.port, pid: gateway.proc.pid },
  };
  const empty = (): Record<Label, number[]> => ({ direct: [], nginx: [], aifwd: [] });
  const speed: Record<Mode, Record<Label, number[]>> = { upload: empty(), download: empty() };
  const growth: Record<Mode, Record<Label, number[]>> = { upload: empty(), download: empty() };
  const busy: Record<Mode, Record<Label, number[]>> = { upload: empty(), download: empty() };
  for (let run = 1; run <= settings.transferRuns; run++) {
    for (const mode of ['upload', 'download'] as const) {
      for (const label of ['direct', 'nginx', 'aifwd'] as const) {
        const { port, pid } = targets[label];
        await waitForQuiet();
        resetPeak(pid);
        const before = memory(pid).rss;
        const cpu0 = cpuSeconds(pid);
        const args = ['--port', String(port), '--mode', mode, '--bytes', String(settings.transferBytes)];
        const { results, command } = await runClientHelper<TransferOutput>('clients/transfer.js', args);
        if (label === 'aifwd') ctx.command(`200 MB ${mode}`, command);
        const r = results[0];
        if (r === undefined || !r.ok) throw new Error(`${mode} via ${label} failed`);
        const grown = (memory(pid).hwm - before) / MB;
        speed[mode][label].push(r.mbPerSecond);
        busy[mode][label].push((cpuSeconds(pid) - cpu0) / r.seconds);
        growth[mode][label].push(grown);
        ctx.log(`  run ${run}/${settings.transferRuns} ${mode.padEnd(8)} ${label.padEnd(6)} ${r.mbPerSecond.toFixed(0)} MB/s, peak RSS +${grown.toFixed(1)} MB`);
      }
    }
  }
  await gateway.proc.stop();
  const mode = (m: Mode): TransferModeResult => ({
    mbPerSecond: { direct: summarise(speed[m].direct), nginx: summarise(speed[m].nginx), aifwd: summarise(speed[m].aifwd) },
    ratio: summarise(paired(speed[m].aifwd, speed[m].nginx, (a, n) => a / n)),
    rssGrowthMb: { nginx: summarise(growth[m].nginx), aifwd: summarise(growth[m].aifwd) },
    busy: { direct: summarise(busy[m].direct), nginx: summarise(busy[m].nginx), aifwd: summarise(busy[m].aifwd) },
  });
  return { bytes: settings.transferBytes, upload: mode('upload'), download: mode('download') };
}
