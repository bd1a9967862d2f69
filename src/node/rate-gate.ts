/**
 * Where a forward key's requests per minute are counted (core/request-window.ts). One process
 * counts for itself. Under `--workers N` the primary counts for all of them, so N workers do not
 * allow N times the limit (USERS.md #14). A worker asks `{type: 'aifwd:rate', id, index}` and the
 * primary answers `{type: 'aifwd:rate', id, wait}`. Only requests of keys with an `rpm` ask, and
 * only the key's index crosses the channel, never the key.
 *
 * Should the primary not answer within {@link ANSWER_TIMEOUT_MS} (it is going away), the request is
 * admitted: a limit briefly unenforced costs less than refusing every request of a team.
 */
import { performance } from 'node:perf_hooks';
import { RequestWindows } from '../core/request-window.js';

export const RATE_MESSAGE_TYPE = 'aifwd:rate';
const ANSWER_TIMEOUT_MS = 1000;

/** Decides whether a request of forward key `index` is admitted now. */
export interface RateGate {
  /** Calls `done(0)` when admitted (and counted), else `done(ms until one would be)`; maybe synchronously. */
  admit(index: number, done: (waitMs: number) => void): void;
}

/** Counts in this process: the gate of a single process, and the primary's count. */
export function localRateGate(limits: readonly number[], now: () => number = () => performance.now()): RateGate {
  const windows = new RequestWindows(limits);
  return {
    admit(index, done) {
      done(windows.admit(index, now()));
    },
  };
}

interface RateQuestion {
  readonly type: typeof RATE_MESSAGE_TYPE;
  readonly id: number;
  readonly index: number;
}

interface RateAnswer {
  readonly type: typeof RATE_MESSAGE_TYPE;
  readonly id: number;
  readonly wait: number;
}

function isRateMessage(message: unknown): message is { type: string; id: number } & Record<string, unknown> {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === RATE_MESSAGE_TYPE && Number.isSafeInteger((message as { id?: unknown }).id);
}

/** A worker's channel to the primary: `process` in a cluster worker. */
export interface RateChannel {
  send?: (message: RateQuestion, sendHandle: undefined, options: undefined, callback: (error: Error | null) => void) => unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** The gate of a cluster worker: the primary counts. */
export function primaryRateGate(channel: RateChannel): RateGate {
  const waiting = new Map<number, { done: (waitMs: number) => void; timer: NodeJS.Timeout }>();
  let lastId = 0;
  const answer = (id: number, wait: number): void => {
    const entry = waiting.get(id);
    if (entry === undefined) return;
    waiting.delete(id);
    clearTimeout(entry.timer);
    entry.done(wait);
  };
  channel.on('message', (message) => {
    if (!isRateMessage(message)) return;
    const wait = message.wait;
    answer(message.id, typeof wait === 'number' && Number.isFinite(wait) && wait > 0 ? wait : 0);
  });
  return {
    admit(index, done) {
      const id = ++lastId;
      const timer = setTimeout(() => answer(id, 0), ANSWER_TIMEOUT_MS);
      waiting.set(id, { done, timer });
      // No channel, or a closed one (the primary is going away): admitted, as on a timeout.
      if (channel.send === undefined) return answer(id, 0);
      try {
        channel.send({ type: RATE_MESSAGE_TYPE, id, index }, undefined, undefined, (error) => {
          if (error !== null) answer(id, 0);
        });
      } catch {
        answer(id, 0);
      }
    },
  };
}

/** A worker as the primary sees it (node:cluster's `Worker`). */
export interface RateWorker {
  isConnected(): boolean;
  send(message: RateAnswer, sendHandle: undefined, options: undefined, callback: (error: Error | null) => void): unknown;
}

/** The primary's view of its workers: `node:cluster`, or a stand-in in tests. */
export interface RateWorkerSource {
  on(event: 'message', listener: (worker: RateWorker, message: unknown) => void): unknown;
}

const ignore = (): void => {};

/** The primary side: counts every worker's requests in one {@link localRateGate}. */
export function answerRateQuestions(source: RateWorkerSource, gate: RateGate): void {
  source.on('message', (worker, message) => {
    if (!isRateMessage(message)) return;
    const index = message.index;
    if (!Number.isSafeInteger(index) || (index as number) < 0) return;
    gate.admit(index as number, (wait) => {
      if (!worker.isConnected()) return;
      try {
        worker.send({ type: RATE_MESSAGE_TYPE, id: message.id, wait }, undefined, undefined, ignore);
      } catch {
        // The worker is going away.
      }
    });
  });
}
