/**
 * Measure 3: SSE with 50 events per response. CPU time per event of each proxy at 50 connections
 * (ratio aifwd/nginx, paired per round), the upstream's own capacity and CPU (it must not be the
 * limit), and the first-byte overhead: time to the first event via a proxy minus direct, p50.
 */
import type { Context } from '../context.js';
import type { RunningGateway } from '../gateway.js';
import { SSE_EVENTS } from '../payloads.js';
import { paired, summarise, type Summary } from '../stats.js';
import { runClientRounds } from './client-rounds.js';
import { cpuPerUnitUs, runRounds, sideBySide, systemPerUnitUs, type LoadSample } from './load.js';

interface TtfbOutput {
  readonly p25: number;
  readonly p50: number;
  readonly p75: number;
  readonly p90: number;
  readonly p99: number;
}

export interface SseResult {
  /** Responses per second. */
  readonly rps: { readonly direct: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  /** CPU µs per event: the upstream's own (direct runs), nginx's and aifwd's. */
  readonly cpuPerEventUs: { readonly upstream: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  /** The kernel part of it (the rest is user space). */
  readonly systemPerEventUs: { readonly nginx: Summary; readonly aifwd: Summary };
  readonly ratio: Summary;
  /** Share of its core each process used. */
  readonly busy: { readonly upstream: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  /** Share of CPU 0 (wrk + upstream) used during the proxy runs. */
  readonly cpu0Busy: { readonly nginx: Summary; readonly aifwd: Summary };
  readonly ttfbP50Us: { readonly direct: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  readonly ttfbP99Us: { readonly direct: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  /**
   * The first and third quartiles: at one connection the first events here fall into two groups
   * some 0.1 ms apart, through either proxy (see report-limits.ts); absent in results from before
   * 2026-11-28.
   */
  readonly ttfbP25Us?: { readonly direct: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  readonly ttfbP75Us?: { readonly direct: Summary; readonly nginx: Summary; readonly aifwd: Summary };
  readonly firstByteOverheadP50Us: { readonly nginx: Summary; readonly aifwd: Summary };
  readonly interference: number;
  readonly errors: number;
  readonly samples: readonly LoadSample[];
}

/** Runs measure 3 against the SSE upstream, nginx's streaming server block and a gateway in front of the SSE upstream. */
export async function runSse(ctx: Context, gateway: RunningGateway): Promise<SseResult> {
  const { infra, settings } = ctx;
  const path = '/v1/chat/completions';
  const ports = { direct: infra.sse.port, nginx: infra.proxyPorts.sse, aifwd: gateway.port };
  const rounds = await runRounds(
    sideBySide(ports, { upstream: infra.sse.proc.pid, nginx: infra.proxy.workerPid, aifwd: gateway.proc.pid }, path),
    { script: ctx.scripts.sse, connections: 50, seconds: settings.seconds, warmupSeconds: settings.warmupSeconds, runs: settings.runs, log: ctx.log },
  );
  const direct = rounds.get('direct') ?? [];
  const nginx = rounds.get('nginx') ?? [];
  const aifwd = rounds.get('aifwd') ?? [];
  ctx.command('wrk, 50 connections (SSE)', aifwd[0]?.command ?? '');

  const ttfb = await runClientRounds<TtfbOutput>(ctx, ports, {
    helper: 'clients/ttfb.js',
    args: ['--requests', String(settings.ttfbRequests), '--warmup', String(settings.ttfbWarmup)],
    commandName: 'time to first event (1 connection)',
    describe: (r) => `p50 ${r.p50.toFixed(1)} µs, p99 ${r.p99.toFixed(1)} µs`,
  });

  const perEvent = (s: LoadSample): number => cpuPerUnitUs(s, SSE_EVENTS);
  const busy = (s: LoadSample): number => s.cpuSeconds / s.wallSeconds;
  const cpu0 = (s: LoadSample): number => s.cpu0Seconds / s.wallSeconds;
  const p = (list: TtfbOutput[], key: 'p25' | 'p50' | 'p75' | 'p99'): number[] => list.map((r) => r[key]);
  const quartile = (key: 'p25' | 'p75') => ({ direct: summarise(p(ttfb.direct, key)), nginx: summarise(p(ttfb.nginx, key)), aifwd: summarise(p(ttfb.aifwd, key)) });
  const minus = (a: number, b: number): number => a - b;
  const all = [...direct, ...nginx, ...aifwd];
  return {
    rps: { direct: summarise(direct.map((s) => s.rps)), nginx: summarise(nginx.map((s) => s.rps)), aifwd: summarise(aifwd.map((s) => s.rps)) },
    cpuPerEventUs: { upstream: summarise(direct.map(perEvent)), nginx: summarise(nginx.map(perEvent)), aifwd: summarise(aifwd.map(perEvent)) },
    systemPerEventUs: { nginx: summarise(nginx.map((s) => systemPerUnitUs(s, SSE_EVENTS))), aifwd: summarise(aifwd.map((s) => systemPerUnitUs(s, SSE_EVENTS))) },
    ratio: summarise(paired(aifwd.map(perEvent), nginx.map(perEvent), (a, n) => a / n)),
    busy: { upstream: summarise(direct.map(busy)), nginx: summarise(nginx.map(busy)), aifwd: summarise(aifwd.map(busy)) },
    cpu0Busy: { nginx: summarise(nginx.map(cpu0)), aifwd: summarise(aifwd.map(cpu0)) },
    ttfbP50Us: { direct: summarise(p(ttfb.direct, 'p50')), nginx: summarise(p(ttfb.nginx, 'p50')), aifwd: summarise(p(ttfb.aifwd, 'p50')) },
    ttfbP99Us: { direct: summarise(p(ttfb.direct, 'p99')), nginx: summarise(p(ttfb.nginx, 'p99')), aifwd: summarise(p(ttfb.aifwd, 'p99')) },
    ttfbP25Us: quartile('p25'),
    ttfbP75Us: quartile('p75'),
    firstByteOverheadP50Us: {
      nginx: summarise(paired(p(ttfb.nginx, 'p50'), p(ttfb.direct, 'p50'), minus)),
      aifwd: summarise(paired(p(ttfb.aifwd, 'p50'), p(ttfb.direct, 'p50'), minus)),
    },
    interference: Math.max(0, ...[...nginx, ...aifwd].map((s) => s.noise)),
    errors: all.reduce((n, s) => n + s.errors, 0),
    samples: all,
  };
}
