/**
 * Requests per minute per forward key, pure: a sliding window, exact. A key limited to N keeps the
 * times of its last N admitted requests in a ring; a request is admitted when the oldest of them
 * is a minute old, so no 60 s span ever holds more than N — a fixed window would allow 2N across
 * its boundary. Refused requests are not counted.
 *
 * Memory: 8 bytes per allowed request a minute, allocated at a key's first request (the limit is
 * capped at {@link MAX_RPM}, so 800 KB at most per key).
 */

export const WINDOW_MS = 60_000;
/** The highest `rpm` a key may have. */
export const MAX_RPM = 100_000;

export class RequestWindows {
  /** Per key index: its limit (0 = none). */
  readonly #limits: readonly number[];
  /** Per key index: admission times, oldest at `#next[index]` once full; allocated lazily. */
  readonly #times: (Float64Array | undefined)[];
  readonly #next: Int32Array;

  constructor(limits: readonly number[]) {
    this.#limits = limits;
    this.#times = new Array<Float64Array | undefined>(limits.length);
    this.#next = new Int32Array(limits.length);
  }

  /**
   * Admits (and counts) a request of key `index` at `now` (ms, any clock that does not go back), or
   * refuses it: the answer is 0 when admitted, else the ms until one would be.
   */
  admit(index: number, now: number): number {
    const limit = this.#limits[index] ?? 0;
    if (limit === 0) return 0;
    let times = this.#times[index];
    if (times === undefined) {
      times = new Float64Array(limit).fill(-Infinity);
      this.#times[index] = times;
    }
    const slot = this.#next[index];
    const wait = times[slot] + WINDOW_MS - now;
    if (wait > 0) return wait;
    times[slot] = now;
    this.#next[index] = slot + 1 === limit ? 0 : slot + 1;
    return 0;
  }
}
