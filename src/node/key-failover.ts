/**
 * What both ways to the upstream do when it refuses a pool key (USERS.md #5): the plain request
 * (forward-handler.ts) and the WebSocket upgrade (upgrade-tunnel.ts). The key rests for as long as
 * the upstream says (core/key-health.ts), one line tells the operator which key (masked), and the
 * exchange goes again with another key in rotation while the client has seen nothing.
 */
import { headerValue } from '../core/headers.js';
import { cooldownFor } from '../core/key-health.js';
import type { KeyPool } from '../core/key-pool.js';
import { maskSecret } from '../core/mask.js';

/** Another pool key is tried at most this many times per request. */
export const MAX_RETRIES = 2;
/** Largest 401 body held back to read whether it blames the key; a larger one is relayed. */
export const HOLD_LIMIT = 16 * 1024;

export interface FailoverContext {
  /** The key pool, for the health of its keys and failover. */
  readonly pool: KeyPool;
  /** Receives one line when a key starts resting (the key masked). */
  readonly log?: (line: string) => void;
}

/**
 * Rests pool key `keyIndex`, which the upstream refused with `status` (`headers`: the refusal's,
 * flat, lower-case names), when the refusal is about the key. Answers the key to try next, or -1
 * when the refusal is the answer: it is not about the key, `mayRetry` is false, or no other key
 * is in rotation.
 */
export function restRefusedKey(context: FailoverContext, keyIndex: number, status: number, headers: readonly string[], mayRetry: boolean): number {
  const now = Date.now();
  const cooldown = cooldownFor(status, (name) => headerValue(headers, name), now);
  if (cooldown === null) return -1;
  const { pool, log } = context;
  if (pool.rest(keyIndex, now + cooldown.ms, now)) {
    log?.(`aifwd: pool key ${maskSecret(pool.key(keyIndex))} got ${status} from the upstream; out of rotation for ${Math.ceil(cooldown.ms / 1000)} s (${cooldown.source})`);
  }
  return mayRetry ? pool.otherAvailable(keyIndex, now) : -1;
}
