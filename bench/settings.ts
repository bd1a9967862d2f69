/**
 * How long and how often each scenario runs. The full run takes about 8 minutes; `BENCH_QUICK=1`
 * shortens every phase (about 3 minutes) for a quick look, with the same scenarios and outputs.
 */

export interface Settings {
  readonly quick: boolean;
  /** Repetitions of each throughput / latency / SSE / transfer measurement. */
  readonly runs: number;
  /** Seconds of one wrk throughput run (50 connections). */
  readonly seconds: number;
  /** Seconds of the warm-up run before a target's first measured run. */
  readonly warmupSeconds: number;
  /** Seconds of one single-connection latency run. */
  readonly latencySeconds: number;
  /** Requests (after `ttfbWarmup`) of one time-to-first-event run. */
  readonly ttfbRequests: number;
  readonly ttfbWarmup: number;
  /** Requests (after `rawLatencyWarmup`) of one run of measure 2's own client (every request timed as it was). */
  readonly rawLatencyRequests: number;
  readonly rawLatencyWarmup: number;
  /** Repetitions of the open-streams scenario (on one gateway process: a leak shows as drift). */
  readonly streamRuns: number;
  /** Concurrent streams asked for (capped by the open-files hard limit). */
  readonly streams: number;
  /** Every stream must receive at least this many events while all are open. */
  readonly streamMinEvents: number;
  /** Seconds to wait after the streams ended before reading RSS again. */
  readonly streamSettleSeconds: number;
  /** Bytes of one upload / download. */
  readonly transferBytes: number;
  /** Repetitions of each transfer (they are short, so more of them). */
  readonly transferRuns: number;
  /** Gateway starts for the start-up time and idle RSS. */
  readonly startups: number;
  /** Seconds of load while aifwd runs under `--cpu-prof` (after a warm-up). */
  readonly profileSeconds: number;
  /** Most seconds the run may spend waiting for a quiet machine and repeating disturbed runs. */
  readonly noiseBudgetSeconds: number;
}

/** The settings for this run (`BENCH_QUICK=1` → quick). */
export function loadSettings(env: NodeJS.ProcessEnv): Settings {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  return {
    quick,
    runs: 3,
    seconds: quick ? 3 : 8,
    warmupSeconds: quick ? 2 : 5,
    latencySeconds: quick ? 2 : 5,
    ttfbRequests: quick ? 1000 : 3000,
    ttfbWarmup: quick ? 200 : 500,
    rawLatencyRequests: quick ? 5000 : 20_000,
    rawLatencyWarmup: quick ? 500 : 2000,
    streamRuns: quick ? 1 : 3,
    streams: 10_000,
    streamMinEvents: 3,
    streamSettleSeconds: quick ? 5 : 10,
    transferBytes: 200_000_000,
    transferRuns: quick ? 3 : 5,
    startups: quick ? 5 : 9,
    profileSeconds: quick ? 3 : 5,
    noiseBudgetSeconds: quick ? 60 : 240,
  };
}
