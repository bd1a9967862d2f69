/**
 * Upstream key pool: round-robin over the configured keys. Pure state, no I/O, so later capabilities
 * (weights, cooldown on 429/401 honouring Retry-After, failover) grow here without touching the
 * proxy. Modelled on undici's balanced-pool: callers ask for the next key, never index the array.
 */
export class KeyPool {
  readonly #keys: readonly string[];
  #next = 0;

  constructor(keys: readonly string[]) {
    this.#keys = [...keys];
  }

  get size(): number {
    return this.#keys.length;
  }

  /** The next key in round-robin order; `undefined` when the pool is empty. */
  next(): string | undefined {
    const keys = this.#keys;
    if (keys.length === 0) return undefined;
    const key = keys[this.#next];
    this.#next = this.#next + 1 === keys.length ? 0 : this.#next + 1;
    return key;
  }
}
