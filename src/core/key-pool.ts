/**
 * Upstream key pool: round-robin over the configured keys, skipping keys that rest after the
 * upstream refused them (key-health.ts). Pure state, no I/O: the clock comes in as an argument.
 * Modelled on undici's balanced-pool: callers ask for the next key, never index the array.
 */
export class KeyPool {
  readonly #keys: readonly string[];
  #next = 0;
  /** Per key, until when (ms) it rests; 0 = in rotation. */
  readonly #restUntil: Float64Array;
  #restsSeen = false;
  #restsStarted = 0;
  /**
   * Told of every rest this process decided (not of rests applied with `announce` false): how the
   * workers of a cluster share what they learn of a key (node/key-rest-sharing.ts).
   */
  onRest: ((index: number, until: number) => void) | null = null;

  constructor(keys: readonly string[]) {
    this.#keys = [...keys];
    this.#restUntil = new Float64Array(this.#keys.length);
  }

  get size(): number {
    return this.#keys.length;
  }

  /** True once a key has rested: until then callers need not read the clock for {@link nextIndex}. */
  get restsSeen(): boolean {
    return this.#restsSeen;
  }

  key(index: number): string {
    return this.#keys[index];
  }

  /**
   * Index of the next key in round-robin order that is not resting at `now`; when every key rests,
   * the one whose rest ends first (the upstream's own answer is better than none). -1 when the
   * pool is empty.
   */
  nextIndex(now = 0): number {
    const count = this.#keys.length;
    if (count === 0) return -1;
    const rest = this.#restUntil;
    let soonest = -1;
    for (let tried = 0; tried < count; tried++) {
      const index = this.#next;
      this.#next = index + 1 === count ? 0 : index + 1;
      if (rest[index] <= now) return index;
      if (soonest === -1 || rest[index] < rest[soonest]) soonest = index;
    }
    return soonest;
  }

  /** The next key (see {@link nextIndex}); `undefined` when the pool is empty. */
  next(now = 0): string | undefined {
    const index = this.nextIndex(now);
    return index === -1 ? undefined : this.#keys[index];
  }

  /** True when key `index` is in rotation at `now`. */
  available(index: number, now: number): boolean {
    return this.#restUntil[index] <= now;
  }

  /**
   * Takes key `index` out of rotation until `until`; true when it was in rotation until now. A rest
   * that ends later than the current one is announced to {@link onRest} unless `announce` is false
   * (a rest another process decided).
   */
  rest(index: number, until: number, now: number, announce = true): boolean {
    const wasAvailable = this.#restUntil[index] <= now;
    if (until > this.#restUntil[index]) {
      this.#restUntil[index] = until;
      if (announce) this.onRest?.(index, until);
    }
    if (wasAvailable && announce) this.#restsStarted++;
    this.#restsSeen = true;
    return wasAvailable;
  }

  /** Rests this process started (a key leaving the rotation; not rests another process decided). */
  get restsStarted(): number {
    return this.#restsStarted;
  }

  /** Keys out of rotation at `now`. */
  resting(now: number): number {
    let count = 0;
    for (const until of this.#restUntil) if (until > now) count++;
    return count;
  }

  /** A key other than `except` that is in rotation at `now`, in round-robin order, or -1. */
  otherAvailable(except: number, now: number): number {
    const count = this.#keys.length;
    for (let tried = 0; tried < count; tried++) {
      const index = this.#next;
      this.#next = index + 1 === count ? 0 : index + 1;
      if (index !== except && this.#restUntil[index] <= now) return index;
    }
    return -1;
  }
}
