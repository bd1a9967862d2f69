/**
 * The credential decision (DESIGN §5, seed semantics), pure: given the client's Authorization value,
 * say which Authorization goes upstream.
 *
 * 1. pool set, no forward keys ("open mode"): always the next pool key;
 * 2. forward keys set: a Bearer token equal to a forward key gets the next pool key, anything else
 *    passes through unchanged;
 * 3. no pool: passthrough.
 */
import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import { KeyPool } from './key-pool.js';

export type AuthMode = 'open' | 'forward-key' | 'passthrough';

export type AuthDecision =
  /** Replace the client's Authorization with `Bearer <key>` (pool key `keyIndex`). */
  | { readonly kind: 'pool'; readonly key: string; readonly keyIndex: number; readonly forwardKeyIndex: number }
  /** Send the client's Authorization (or its absence) unchanged. */
  | { readonly kind: 'passthrough' };

const PASSTHROUGH: AuthDecision = { kind: 'passthrough' };


/** Extracts the token of `Bearer <token>` (scheme case-insensitive), or `undefined`. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.length < 8) return undefined;
  const scheme = authorization.slice(0, 7);
  if (scheme !== 'Bearer ' && scheme.toLowerCase() !== 'bearer ') return undefined;
  return authorization.slice(7).trim();
}

export interface AuthOptions {
  poolKeys: readonly string[];
  forwardKeys: readonly string[];
}

export class Authenticator {
  readonly mode: AuthMode;
  readonly pool: KeyPool;
  /** The forward keys' bytes. */
  readonly #forwardKeys: readonly Buffer[];

  constructor({ poolKeys, forwardKeys }: AuthOptions) {
    this.pool = new KeyPool(poolKeys);
    this.#forwardKeys = forwardKeys.map((key) => Buffer.from(key, 'utf8'));
    this.mode = poolKeys.length === 0 ? 'passthrough' : forwardKeys.length === 0 ? 'open' : 'forward-key';
  }

  /**
   * Index of the forward key equal to `token`, or -1. Every key of the token's length is compared
   * with `timingSafeEqual`, so the time taken does not depend on how much of a key a guess gets
   * right; only key lengths can be learnt, as with any constant-time compare. (A sha256 of the token
   * made every length equal but cost ~4% of a request's CPU: bench/, BENCHMARKS.md.)
   */
  matchForwardKey(token: string): number {
    const candidate = Buffer.from(token, 'utf8');
    let found = -1;
    for (let i = 0; i < this.#forwardKeys.length; i++) {
      const key = this.#forwardKeys[i];
      if (key.length === candidate.length && timingSafeEqual(candidate, key) && found === -1) found = i;
    }
    return found;
  }

  /** What goes upstream for a client's Authorization; `now` decides which pool keys rest. */
  decide(authorization: string | undefined, now = 0): AuthDecision {
    switch (this.mode) {
      case 'passthrough':
        return PASSTHROUGH;
      case 'open':
        return this.#poolKey(-1, now);
      case 'forward-key': {
        const token = bearerToken(authorization);
        if (token === undefined) return PASSTHROUGH;
        const index = this.matchForwardKey(token);
        if (index === -1) return PASSTHROUGH;
        return this.#poolKey(index, now);
      }
    }
  }

  #poolKey(forwardKeyIndex: number, now: number): AuthDecision {
    const keyIndex = this.pool.nextIndex(now);
    return { kind: 'pool', key: this.pool.key(keyIndex), keyIndex, forwardKeyIndex };
  }
}
