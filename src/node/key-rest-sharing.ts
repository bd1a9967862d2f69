/**
 * Key health across `--workers N` (node:cluster): what one worker learns of a pool key — the upstream
 * refused it, so it rests (core/key-health.ts) — every worker applies at once, instead of each
 * finding out with a refused request of its own. The resting worker sends `{type: 'aifwd:key-rest',
 * index, until}` to the primary; the primary passes it to the other workers, and replays the rests
 * still running to a worker that starts later (a replacement) once it listens. Only the key's index in the pool
 * crosses the channel, never the key: every process reads the same configuration. `until` is an
 * epoch time in ms, so it means the same in every process on the machine.
 *
 * The worker that decided the rest prints the one stderr line about it; the others stay quiet.
 */
import type { KeyPool } from '../core/key-pool.js';

export const KEY_REST_MESSAGE_TYPE = 'aifwd:key-rest';

/** Key `index` of the pool rests until `until` (epoch ms). */
export interface KeyRestMessage {
  readonly type: typeof KEY_REST_MESSAGE_TYPE;
  readonly index: number;
  readonly until: number;
}

/** True for a well-formed {@link KeyRestMessage} (anything else on the channel is not ours). */
export function isKeyRestMessage(message: unknown): message is KeyRestMessage {
  if (typeof message !== 'object' || message === null) return false;
  const { type, index, until } = message as { type?: unknown; index?: unknown; until?: unknown };
  return type === KEY_REST_MESSAGE_TYPE && Number.isSafeInteger(index) && (index as number) >= 0 && typeof until === 'number' && Number.isFinite(until);
}

/** A worker's channel to the primary: `process` in a cluster worker. */
export interface PrimaryChannel {
  send?: (message: KeyRestMessage, sendHandle: undefined, options: undefined, callback: (error: Error | null) => void) => unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

const ignore = (): void => {};

/**
 * The worker side: announces this pool's rests to the primary and applies the ones it relays. Call
 * it before the server listens: the primary replays running rests when the worker starts listening.
 */
export function shareKeyRests(pool: KeyPool, channel: PrimaryChannel): void {
  pool.onRest = (index, until) => {
    try {
      // A closed channel (the primary is going away) only means the others do not learn of it.
      channel.send?.({ type: KEY_REST_MESSAGE_TYPE, index, until }, undefined, undefined, ignore);
    } catch {
      // As above.
    }
  };
  const onMessage = (message: unknown): void => {
    if (!isKeyRestMessage(message) || message.index >= pool.size) return;
    const now = Date.now();
    if (message.until > now) pool.rest(message.index, message.until, now, false);
  };
  channel.on('message', onMessage);
}

/** A worker as the primary sees it (node:cluster's `Worker`). */
export interface WorkerHandle {
  isConnected(): boolean;
  send(message: KeyRestMessage, sendHandle: undefined, options: undefined, callback: (error: Error | null) => void): unknown;
}

/** The primary's view of its workers: `node:cluster`, or a stand-in in tests. */
export interface WorkerSource {
  readonly workers?: NodeJS.Dict<WorkerHandle>;
  on(event: 'message', listener: (worker: WorkerHandle, message: unknown) => void): unknown;
  on(event: 'listening', listener: (worker: WorkerHandle) => void): unknown;
}

function sendTo(worker: WorkerHandle | undefined, message: KeyRestMessage): void {
  if (worker === undefined || !worker.isConnected()) return;
  try {
    worker.send(message, undefined, undefined, ignore);
  } catch {
    // The worker is going away.
  }
}

/**
 * The primary side: passes each rest a worker announces to the others, and replays the running
 * rests to a worker once it listens (by then its side is attached: a message sent to a worker with
 * no listener yet would be lost). Counts the rests that took a key out of rotation (metrics).
 */
export function relayKeyRests(source: WorkerSource, now: () => number = Date.now): { readonly restsStarted: number } {
  /** Per key index, the latest end of a rest any worker announced. */
  const rests = new Map<number, number>();
  // Rests that took a key out of rotation: two workers refused at once announce one rest twice.
  let restsStarted = 0;
  source.on('message', (from, message) => {
    if (!isKeyRestMessage(message)) return;
    const previous = rests.get(message.index) ?? 0;
    if (previous <= now()) restsStarted++;
    if (message.until > previous) rests.set(message.index, message.until);
    for (const worker of Object.values(source.workers ?? {})) if (worker !== from) sendTo(worker, message);
  });
  source.on('listening', (worker) => {
    const at = now();
    for (const [index, until] of rests) {
      if (until > at) sendTo(worker, { type: KEY_REST_MESSAGE_TYPE, index, until });
      else rests.delete(index);
    }
  });
  return {
    get restsStarted() {
      return restsStarted;
    },
  };
}
