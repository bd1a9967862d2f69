/**
 * The machine may be shared (other sessions, test runs): before a measurement the bench waits until
 * both CPUs are nearly idle, and after a wrk run it checks how much CPU went to processes other
 * than its own; a disturbed run is repeated (see scenarios/load.ts). Waiting and repeating draw on
 * one time budget per run, so a machine that never calms down makes the results noisier (and says
 * so in BENCHMARKS.md), not the run endless.
 */
import { cpuBusySeconds } from './proc-stats.js';

/** Above this share of a CPU used by others, a run counts as disturbed. */
export const NOISE_LIMIT = 0.1;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let budgetMs = 240_000;
let spentMs = 0;

/** Sets the run's budget for waiting and repeating, in seconds. */
export function setNoiseBudget(seconds: number): void {
  budgetMs = seconds * 1000;
}

/** Charges time spent on a repeated (disturbed) run to the budget. */
export function chargeNoise(ms: number): void {
  spentMs += ms;
}

/** True while there is budget left to wait or to repeat a run. */
export function noiseBudgetLeft(): boolean {
  return spentMs < budgetMs;
}

/** Seconds of the budget spent so far. */
export function noiseSpentSeconds(): number {
  return spentMs / 1000;
}

/** Busy share of CPU 0 and CPU 1 over `ms`. */
export async function busyShares(ms: number): Promise<[number, number]> {
  const a0 = cpuBusySeconds(0);
  const a1 = cpuBusySeconds(1);
  await sleep(ms);
  return [(cpuBusySeconds(0) - a0) / (ms / 1000), (cpuBusySeconds(1) - a1) / (ms / 1000)];
}

/**
 * Waits until both CPUs were below {@link NOISE_LIMIT} busy for 300 ms — at most 30 s, and only
 * while the budget lasts. Resolves with the time waited; never fails.
 */
export async function waitForQuiet(): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const [b0, b1] = await busyShares(300);
    if (b0 < NOISE_LIMIT && b1 < NOISE_LIMIT) break;
    if (Date.now() - t0 >= 30_000 || spentMs + (Date.now() - t0) >= budgetMs) break;
  }
  const waited = Date.now() - t0;
  // The first 300 ms are the measurement itself, not waiting.
  if (waited > 300) spentMs += waited - 300;
  if (waited >= 3000) {
    process.stderr.write(`  (waited ${(waited / 1000).toFixed(0)} s for other processes to leave the CPUs)\n`);
  }
  return waited;
}
