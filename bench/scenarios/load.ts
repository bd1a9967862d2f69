/**
 * One wrk run against one target with the CPU accounting around it: the CPU seconds of the process
 * under test (from /proc, before and after), the wall time, and how busy CPU 1 was in total (to
 * see interference from anything else on the proxy's core).
 */
import { cpuBusySeconds, cpuSeconds, cpuTimes } from '../proc-stats.js';
import { chargeNoise, NOISE_LIMIT, noiseBudgetLeft, waitForQuiet } from '../quiet.js';
import { errorCount, runWrk } from '../wrk.js';

export interface LoadSample {
  /** Who answered: `direct` (the upstream itself), `nginx`, `aifwd`, … */
  readonly label: string;
  readonly command: string;
  readonly requests: number;
  readonly rps: number;
  readonly errors: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** CPU seconds used by the measured process during the run… */
  readonly cpuSeconds: number;
  /** …of which in the kernel (system calls, and the loopback TCP work done inside them). */
  readonly systemSeconds: number;
  readonly wallSeconds: number;
  /** CPU seconds CPU 1 was busy in total during the run (all processes). */
  readonly cpu1Seconds: number;
  /** Same for CPU 0 (wrk and the upstreams). */
  readonly cpu0Seconds: number;
  /** Largest share of CPU 0 or CPU 1 used by processes other than the bench's own during the run. */
  readonly noise: number;
  /** 1, or more when earlier attempts were disturbed by other processes and repeated. */
  readonly attempts: number;
}

export interface LoadOptions {
  readonly label: string;
  readonly url: string;
  readonly script: string;
  readonly connections: number;
  readonly seconds: number;
  /** The process whose CPU time is measured (proxy, or the upstream for `direct`). */
  readonly pid: number;
  /** True when that process runs on CPU 1 (a proxy), false for an upstream on CPU 0. */
  readonly onCpu1: boolean;
  /** The upstream process on CPU 0 (its CPU time is the bench's own, not noise). */
  readonly upstreamPid: number;
}

const MAX_ATTEMPTS = 4;

/**
 * Runs wrk once and measures the process `pid` meanwhile; waits for a quiet machine first and
 * repeats (up to 4 attempts, while the run's noise budget lasts) a run in which other processes
 * took more than 10% of either CPU.
 */
export async function measureLoad(o: LoadOptions): Promise<LoadSample> {
  let sample: LoadSample | undefined;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    await waitForQuiet();
    sample = { ...(await measureOnce(o)), attempts: attempt };
    if (sample.noise <= NOISE_LIMIT || !noiseBudgetLeft()) break;
    if (attempt < MAX_ATTEMPTS) chargeNoise(sample.wallSeconds * 1000);
  }
  if (sample === undefined) throw new Error('unreachable');
  return sample;
}

async function measureOnce(o: LoadOptions): Promise<LoadSample> {
  const times0 = cpuTimes(o.pid);
  // The orchestrator's own CPU time, which includes wrk's once wrk has exited and been reaped.
  const self0 = cpuSeconds(process.pid);
  const up0 = cpuSeconds(o.upstreamPid);
  const busy0 = cpuBusySeconds(0);
  const busy1 = cpuBusySeconds(1);
  const t0 = performance.now();
  const r = await runWrk({ url: o.url, script: o.script, connections: o.connections, seconds: o.seconds });
  const wallSeconds = (performance.now() - t0) / 1000;
  const times1 = cpuTimes(o.pid);
  const cpu = times1.user + times1.system - (times0.user + times0.system);
  const cpu1Seconds = cpuBusySeconds(1) - busy1;
  const cpu0Seconds = cpuBusySeconds(0) - busy0;
  const ours0 = cpuSeconds(process.pid) - self0 + (cpuSeconds(o.upstreamPid) - up0) + (o.onCpu1 || o.pid === o.upstreamPid ? 0 : cpu);
  const foreign0 = Math.max(0, cpu0Seconds - ours0) / wallSeconds;
  const foreign1 = Math.max(0, cpu1Seconds - (o.onCpu1 ? cpu : 0)) / wallSeconds;
  return {
    label: o.label,
    command: r.command,
    requests: r.requests,
    rps: r.rps,
    errors: errorCount(r),
    p50Us: r.latencyUs.p50,
    p99Us: r.latencyUs.p99,
    cpuSeconds: cpu,
    systemSeconds: times1.system - times0.system,
    wallSeconds,
    cpu1Seconds,
    cpu0Seconds,
    noise: Math.max(foreign0, foreign1),
    attempts: 1,
  };
}

/** CPU microseconds per request (or per `unitsPerRequest` unit, e.g. SSE events). */
export function cpuPerUnitUs(s: LoadSample, unitsPerRequest = 1): number {
  return (s.cpuSeconds * 1e6) / (s.requests * unitsPerRequest);
}

/** The kernel part of {@link cpuPerUnitUs}. */
export function systemPerUnitUs(s: LoadSample, unitsPerRequest = 1): number {
  return (s.systemSeconds * 1e6) / (s.requests * unitsPerRequest);
}


/** A target of a round: where to send load and which process to account. */
export interface Endpoint {
  readonly label: string;
  readonly url: string;
  readonly pid: number;
  readonly onCpu1: boolean;
  readonly upstreamPid: number;
}

/** The three endpoints every side-by-side measure compares: direct, through nginx, through aifwd. */
export function sideBySide(
  ports: { readonly direct: number; readonly nginx: number; readonly aifwd: number },
  pids: { readonly upstream: number; readonly nginx: number; readonly aifwd: number },
  path: string,
): Endpoint[] {
  return [
    { label: 'direct', url: `http://127.0.0.1:${ports.direct}${path}`, pid: pids.upstream, onCpu1: false, upstreamPid: pids.upstream },
    { label: 'nginx', url: `http://127.0.0.1:${ports.nginx}${path}`, pid: pids.nginx, onCpu1: true, upstreamPid: pids.upstream },
    { label: 'aifwd', url: `http://127.0.0.1:${ports.aifwd}${path}`, pid: pids.aifwd, onCpu1: true, upstreamPid: pids.upstream },
  ];
}

export interface RoundOptions {
  readonly script: string;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** The warm-up's connection counts, one run of `warmupSeconds` each, in order (default: `connections`). */
  readonly warmupConnections?: readonly number[];
  readonly runs: number;
  readonly log: (message: string) => void;
}

/**
 * Warms every endpoint up once, then runs `runs` rounds, each measuring every endpoint in turn
 * (interleaved, so slow drifts of the machine hit all of them alike), in reverse order every second
 * round: a drift within a round then favours no endpoint (with three endpoints and three rounds the
 * middle one is always in the middle). Returns the samples per label.
 */
export async function runRounds(endpoints: readonly Endpoint[], o: RoundOptions): Promise<Map<string, LoadSample[]>> {
  const out = new Map<string, LoadSample[]>(endpoints.map((e) => [e.label, []]));
  for (const e of endpoints) {
    await waitForQuiet();
    for (const connections of o.warmupConnections ?? [o.connections]) {
      await runWrk({ url: e.url, script: o.script, connections, seconds: o.warmupSeconds });
    }
  }
  const reversed = [...endpoints].reverse();
  for (let run = 1; run <= o.runs; run++) {
    for (const e of run % 2 === 1 ? endpoints : reversed) {
      const sample = await measureLoad({ ...e, script: o.script, connections: o.connections, seconds: o.seconds });
      out.get(e.label)?.push(sample);
      const retried = sample.attempts > 1 ? `, ${sample.attempts - 1} disturbed attempt(s) repeated` : '';
      const noisy = sample.noise > NOISE_LIMIT ? ` (still disturbed: others used ${(sample.noise * 100).toFixed(0)}% of a CPU)` : '';
      o.log(`  run ${run}/${o.runs} ${e.label.padEnd(8)} ${Math.round(sample.rps)} req/s, ${sample.errors} errors, CPU ${((sample.cpuSeconds / sample.wallSeconds) * 100).toFixed(0)}%${retried}${noisy}`);
    }
  }
  return out;
}
