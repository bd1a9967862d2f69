/**
 * Measure 2: added latency at one connection: p50 and p99 of (via proxy) minus (direct), paired
 * per round, from wrk's microsecond histogram (`wrk -t1 -c1`).
 *
 * Steady state, as a long-running gateway spends its life: each target is warmed up at 50
 * connections, then at one. A fresh aifwd keeps optimising code (V8's JIT) for its first ~40,000
 * requests at one connection, and the 1 s warm-up used until 2026-11-27 left that inside the
 * first rounds: it was most of why this p99 moved from 0.27 to 0.53 ms between runs.
 *
 * wrk corrects for coordinated omission: after the run, every latency of at least twice the mean
 * time between requests adds samples at that latency minus one, two, … mean intervals, as if the
 * requests a stall held back had been sent on time. At one connection that interval is ~0.17 ms,
 * so one stall of 1.3 ms (a young-generation collection) becomes ~7 samples, and a stall in one
 * request out of 700 moves wrk's p99 to the stall's length. The bench's own client
 * (clients/latency.ts) times every request as it was, with no added samples: both are reported.
 */
import type { Context } from '../context.js';
import type { RunningGateway } from '../gateway.js';
import { runClientRounds, type Targets } from './client-rounds.js';
import { paired, summarise, type Summary } from '../stats.js';
import { runRounds, sideBySide, type LoadSample } from './load.js';

/** What clients/latency.ts prints: one run's percentiles of each request's own time, µs. */
export interface RawLatencyOutput {
  readonly requests: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  /** Requests that took more than 1 ms. */
  readonly over1ms: number;
}

export interface LatencyResult {
  readonly p50Us: Targets<Summary>;
  readonly p99Us: Targets<Summary>;
  /** Added over direct, µs. */
  readonly addedP50Us: { readonly nginx: Summary; readonly aifwd: Summary };
  readonly addedP99Us: { readonly nginx: Summary; readonly aifwd: Summary };
  /** The same targets timed request by request by the bench's own client (no coordinated-omission correction). */
  readonly raw: { readonly p50Us: Targets<Summary>; readonly p99Us: Targets<Summary>; readonly p999Us: Targets<Summary>; readonly over1ms: Targets<Summary> };
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

  const raw = await runClientRounds<RawLatencyOutput>(ctx, { direct: infra.jsonPort, nginx: infra.proxyPorts.json, aifwd: gateway.port }, {
    helper: 'clients/latency.js',
    args: ['--requests', String(settings.rawLatencyRequests), '--warmup', String(settings.rawLatencyWarmup)],
    commandName: 'each request timed (1 connection)',
    describe: (r) => `p50 ${r.p50.toFixed(1)} µs, p99 ${r.p99.toFixed(1)} µs, p99.9 ${r.p999.toFixed(1)} µs, ${r.over1ms} over 1 ms`,
  });
  const of = (key: keyof RawLatencyOutput): Targets<Summary> => ({
    direct: summarise(raw.direct.map((r) => r[key])),
    nginx: summarise(raw.nginx.map((r) => r[key])),
    aifwd: summarise(raw.aifwd.map((r) => r[key])),
  });
  const p50 = (list: LoadSample[]): number[] => list.map((s) => s.p50Us);
  const p99 = (list: LoadSample[]): number[] => list.map((s) => s.p99Us);
  const minus = (a: number, b: number): number => a - b;
  return {
    p50Us: { direct: summarise(p50(direct)), nginx: summarise(p50(nginx)), aifwd: summarise(p50(aifwd)) },
    p99Us: { direct: summarise(p99(direct)), nginx: summarise(p99(nginx)), aifwd: summarise(p99(aifwd)) },
    addedP50Us: { nginx: summarise(paired(p50(nginx), p50(direct), minus)), aifwd: summarise(paired(p50(aifwd), p50(direct), minus)) },
    addedP99Us: { nginx: summarise(paired(p99(nginx), p99(direct), minus)), aifwd: summarise(paired(p99(aifwd), p99(direct), minus)) },
    raw: { p50Us: of('p50'), p99Us: of('p99'), p999Us: of('p999'), over1ms: of('over1ms') },
    errors: [...direct, ...nginx, ...aifwd].reduce((n, s) => n + s.errors, 0),
    samples: [...direct, ...nginx, ...aifwd],
  };
}
