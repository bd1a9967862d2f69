/**
 * Measure 1: non-stream throughput at 50 connections (direct, nginx, aifwd) and the proxy's CPU time
 * per request, aifwd's as a ratio to nginx's (paired per round).
 */
import type { Context } from '../context.js';
import type { RunningGateway } from '../gateway.js';
import { paired, summarise, type Summary } from '../stats.js';
import { cpuPerUnitUs, runRounds, sideBySide, systemPerUnitUs, type LoadSample } from './load.js';

export interface ThroughputResult {
  readonly rps: { readonly direct: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  /** CPU µs per request of the proxy (and of the upstream nginx, in the direct runs). */
  readonly cpuPerRequestUs: { readonly upstream: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  /** The kernel part of it (the rest is user space). */
  readonly systemPerRequestUs: { readonly nginx: Summary; readonly aifwd: Summary };
  /** aifwd's CPU per request / nginx's, per round. */
  readonly ratio: Summary;
  /** Share of its core each proxy used (1 = saturated). */
  readonly busy: { readonly nginx: Summary; readonly aifwd: Summary };
  /** Largest share of CPU 1 used by other processes during a proxy run. */
  readonly interference: number;
  readonly errors: number;
  readonly samples: readonly LoadSample[];
}

/** Runs measure 1 against the shared upstream/proxy and a gateway in front of the JSON upstream. */
export async function runThroughput(ctx: Context, gateway: RunningGateway): Promise<ThroughputResult> {
  const { infra, settings } = ctx;
  const path = '/v1/chat/completions';
  const rounds = await runRounds(
    sideBySide({ direct: infra.jsonPort, nginx: infra.proxyPorts.json, aifwd: gateway.port }, { upstream: infra.json.workerPid, nginx: infra.proxy.workerPid, aifwd: gateway.proc.pid }, path),
    { script: ctx.scripts.json, connections: 50, seconds: settings.seconds, warmupSeconds: settings.warmupSeconds, runs: settings.runs, log: ctx.log },
  );
  const direct = rounds.get('direct') ?? [];
  const nginx = rounds.get('nginx') ?? [];
  const aifwd = rounds.get('aifwd') ?? [];
  ctx.command('wrk, 50 connections (non-stream)', aifwd[0]?.command ?? '');
  const perReq = (s: LoadSample): number => cpuPerUnitUs(s);
  const all = [...direct, ...nginx, ...aifwd];
  return {
    rps: { direct: summarise(direct.map((s) => s.rps)), nginx: summarise(nginx.map((s) => s.rps)), aifwd: summarise(aifwd.map((s) => s.rps)) },
    cpuPerRequestUs: { upstream: summarise(direct.map(perReq)), nginx: summarise(nginx.map(perReq)), aifwd: summarise(aifwd.map(perReq)) },
    systemPerRequestUs: { nginx: summarise(nginx.map((s) => systemPerUnitUs(s))), aifwd: summarise(aifwd.map((s) => systemPerUnitUs(s))) },
    ratio: summarise(paired(aifwd.map(perReq), nginx.map(perReq), (a, n) => a / n)),
    busy: {
      nginx: summarise(nginx.map((s) => s.cpuSeconds / s.wallSeconds)),
      aifwd: summarise(aifwd.map((s) => s.cpuSeconds / s.wallSeconds)),
    },
    interference: Math.max(0, ...[...nginx, ...aifwd].map((s) => s.noise)),
    errors: all.reduce((n, s) => n + s.errors, 0),
    samples: all,
  };
}
