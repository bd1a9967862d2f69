/**
 * The wall clock read once per event-loop turn: the first `now()` of a turn reads `Date.now()`,
 * the later ones in the same turn get that reading, and the turn's end forgets it.
 *
 * Per exchange `aifwd run` stamps when the request arrived (the pipeline) and, with the chat log
 * on, when the reply's first byte came and when it ended: three clock reads, each ~50 ns on this
 * VM (`Date.now()` and `performance.now()` alike) and ~0.07 µs in place under load (perf,
 * 2026-11-28: `__vdso_gettimeofday` and V8's `JSDate::CurrentTimeValue` 0.16 µs per exchange for
 * the log's two). Under load a turn handles ~20 exchanges, so the turn's one read serves them all.
 *
 * What a stamp means: when the turn whose I/O brought the event began to be handled — for an event
 * handled late in a busy turn, that is nearer to when its bytes arrived than a read of the clock
 * when its callback runs. A turn lasts at most what its callbacks take (under the bench's load
 * ~1 ms); the records' times are in milliseconds.
 *
 * The turn's end is `atTurnEnd` (`aifwd run`: TurnWrites.afterWrites, in the check phase). A read
 * after it in the same check phase schedules the next end, which keeps the loop from waiting for
 * I/O in between (a pending `setImmediate` makes libuv poll without blocking), so a reading is
 * never held across an idle wait.
 */
export class TurnClock {
  readonly #atTurnEnd: (task: () => void) => void;
  readonly #read: () => number;
  /** This turn's reading, -1 when none was taken yet. */
  #reading = -1;

  /** `read`: the clock (default `Date.now()`, looked up at each read so fake timers apply). */
  constructor(atTurnEnd: (task: () => void) => void, read: () => number = () => Date.now()) {
    this.#atTurnEnd = atTurnEnd;
    this.#read = read;
  }

  /** Milliseconds since the epoch, as `Date.now()` read at this turn's first call. */
  readonly now = (): number => {
    let reading = this.#reading;
    if (reading < 0) {
      reading = this.#reading = this.#read();
      this.#atTurnEnd(this.#forget);
    }
    return reading;
  };

  readonly #forget = (): void => {
    this.#reading = -1;
  };
}
