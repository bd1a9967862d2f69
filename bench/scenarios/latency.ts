/**
 * Measure 2: added latency at one connection: p50 and p99 of (via proxy) minus (direct), paired
 * per round, from wrk's microsecond histogram (`wrk -t1 -c1`).
 *
 * Steady state, as a long-running gateway spends its life: each target is warmed up at 50
 * connections, then at one. A fresh aifwd keeps optimising code (V8's JIT) for its first ~40,000
 * requests at one connection, and the 1 s warm-up used until 2026-11-27 left that inside the
 * first rounds: it was most of why this p99 moved from 0.27 to 0.53 ms between runs.
 */
import type { Context } from '../context.js';
import type { RunningGateway } from '../gateway.js';
import { paired, summarise, type Summary } from '../stats.js';
import { runRounds, sideBySide, type LoadSample } from './load.js';

export interface LatencyResult {
  readonly p50Us: { readonly direct: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  readonly p99Us: { readonly direct: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  /** Added over direct, µs. */
  readonly addedP50Us: { readonly nginx: Summary; readonly aifwd: Summary };
  readonly addedP99Us: { readonly nginx: Summary; readonly aifwd: Summary };
  readonly errors: number;
  readonly samples: readonly LoadSample[];
}

/** Runs measure 2 (same endpoints as measure 1, one connection). */
export async function runLatency(ctx: Context, gateway: RunningGateway): Promise<LatencyResult> {
  const { infra, settings } = ctx;
  const path = '/v1/chat/completions';
  const rounds = await runRounds(
    sideBySide({ direct: infra.jsonPort, nginx: infra.proxyPorts.json, aifwd: gateway.port }, { upstream: infra.json.workerPid, nginx: infra.proxy.workerPid, aifwd: gateway.proc.pid }, path),
    { script: ctx.scripts.json, connections: 1, seconds: settings.latencySeconds, warmupSeconds: settings.warmupSeconds, warmupConnections: [50, 1], runs: settings.runs, log: ctx.log },
  );
  const direct = rounds.get('direct') ?? [];
  const nginx = rounds.get('nginx') ?? [];
  const aifwd = rounds.get('aifwd') ?? [];
  ctx.command('wrk, 1 connection (latency)', aifwd[0]?.command ?? '');
  const p50 = (list: LoadSample[]): number[] => list.map((s) => s.p50Us);
  const p99 = (list: LoadSample[]): number[] => list.map((s) => s.p99Us);
  const minus = (a: number, b: number): number => a - b;
  return {
    p50Us: { direct: summarise(p50(direct)), nginx: summarise(p50(nginx)), aifwd: summarise(p50(aifwd)) },
    p99Us: { direct: summarise(p99(direct)), nginx: summarise(p99(nginx)), aifwd: summarise(p99(aifwd)) },
    addedP50Us: { nginx: summarise(paired(p50(nginx), p50(direct), minus)), aifwd: summarise(paired(p50(aifwd), p50(direct), minus)) },
    addedP99Us: { nginx: summarise(paired(p99(nginx), p99(direct), minus)), aifwd: summarise(paired(p99(aifwd), p99(direct), minus)) },
    errors: [...direct, ...nginx, ...aifwd].reduce((n, s) => n + s.errors, 0),
    samples: [...direct, ...nginx, ...aifwd],
  };
}
