/**
 * Whole messages written in one event-loop turn leave together, once the turn's I/O is handled.
 *
 * Under load one turn reads many requests and replies. Writing each message as soon as it is
 * ready alternates the gateway's JavaScript with the kernel's TCP path, request by request, and
 * each write may wake the client or the upstream on the other CPU while the gateway still has
 * reads to handle. Holding the turn's writes and sending them one after the other at its end keeps
 * each kind of work together and wakes the other side once per burst, not once per message.
 *
 * Holding works by `cork()`: a held socket buffers every later write in order, whoever makes it,
 * and `end()` flushes it. So a held write can never be overtaken, and a message written before
 * `end()` still leaves first. A held socket is uncorked in the turn's check phase (one
 * `setImmediate` per turn, not per write).
 *
 * A quiet gateway — one message in a turn, as at one connection — writes at once: holding would only
 * add the time to the end of the turn to its latency. A turn holds its messages from the second on,
 * and all of them when the last turn it counted wrote more than one ({@link TurnLoad}). Streams are
 * not held (server/outgoing-response.ts says why).
 *
 * Measured by hand on the bench's machine (2026-11-28; wrk at 50 connections on each of two
 * gateways loaded at once on one core, rounds of 6–8 s with the order swapped): 1.03–1.12x the
 * requests of the same gateway writing at once (median 1.05x, 10 rounds); with the chat log on,
 * 1.00–1.07x (8 rounds), the log's work of a turn then waiting until its answers went out. A
 * profile (perf, 5 s at 50 connections each) shows where it comes from: waking the other CPU
 * (`_raw_spin_unlock_irqrestore` under `sock_def_readable`) fell from 6.9% to 3.7% of the
 * gateway's CPU time, the kernel's share from 43.6% to 38.5%.
 */
import type { Socket } from 'node:net';

/** Writes in a turn from which the next turn holds its first write too. */
const BUSY_TURN = 2;
/**
 * Most sockets held at once. Under heavy load one turn can handle a thousand events or more before
 * it ends: the held messages are sent in groups of this many, so none waits for all of those.
 */
const MAX_HELD = 64;

function rethrow(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/** The decision, without sockets: which writes of a turn are held. */
export class TurnLoad {
  /** Writes in the last turn counted, and in this one so far. */
  #previous = 0;
  #current = 0;

  /** Counts a write; true when it should be held until the turn ends. */
  write(): boolean {
    this.#current++;
    return this.#current > 1 || this.busy;
  }

  /**
   * The turn has ended. TurnWrites counts only the turns whose end it scheduled, for a write or a
   * task: after a burst, the first write of the next such turn is held too, if only until that turn
   * ends. Other turns are not watched: scheduling an end for them would itself keep the loop's next
   * poll from blocking, and such a poll, finding nothing yet, would end a busy spell in the middle
   * of the load.
   */
  turnEnded(): void {
    this.#previous = this.#current;
    this.#current = 0;
  }

  /** The last turn counted wrote two or more: the next one holds from its first write. */
  get busy(): boolean {
    return this.#previous >= BUSY_TURN;
  }
}

/** Holds sockets corked until the end of the event-loop turn (see the file comment). */
export class TurnWrites {
  readonly #load = new TurnLoad();
  readonly #schedule: (callback: () => void) => void;
  readonly #onError: (err: unknown) => void;
  readonly #maxHeld: number;
  #scheduled = false;
  #held: Socket[] = [];
  #after: (() => void)[] = [];

  /**
   * `schedule`: runs a callback at the end of this turn (default `setImmediate`). `onError`: gets
   * what a task threw (default: thrown again on its own, as from a `setImmediate` callback).
   * `maxHeld`: most sockets held at once (default {@link MAX_HELD}).
   */
  constructor(schedule: (callback: () => void) => void = setImmediate, onError: (err: unknown) => void = rethrow, maxHeld = MAX_HELD) {
    this.#schedule = schedule;
    this.#onError = onError;
    this.#maxHeld = maxHeld;
  }

  /**
   * Call right before writing a whole message to `socket`: in a busy turn the write (and any after
   * it on this socket) is held until the turn ends; in a quiet one it goes out at once. A socket
   * corked already is left to whoever corked it.
   */
  hold(socket: Socket): void {
    this.#endOfTurn();
    if (!this.#load.write() || socket.writableCorked !== 0) return;
    if (this.#held.length >= this.#maxHeld) this.#release();
    socket.cork();
    this.#held.push(socket);
  }

  /**
   * Runs `task` at the end of this turn, once the held messages are on their way: work that can
   * wait (the chat log's records) never delays an answer. A task that throws does not stop the
   * others (see the constructor's `onError`).
   */
  afterWrites(task: () => void): void {
    this.#after.push(task);
    this.#endOfTurn();
  }

  #endOfTurn(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#schedule(this.#turnEnded);
  }

  readonly #turnEnded = (): void => {
    this.#scheduled = false;
    this.#load.turnEnded();
    this.#release();
    const after = this.#after;
    if (after.length > 0) this.#after = [];
    for (const task of after) {
      try {
        task();
      } catch (err) {
        this.#onError(err);
      }
    }
  };

  /** Sends what is held. */
  #release(): void {
    const held = this.#held;
    if (held.length === 0) return;
    this.#held = [];
    // `end()` or `destroy()` may have come first: uncork() is then a no-op.
    for (const socket of held) socket.uncork();
  }
}

/** The process's turn writes: every socket of the gateway shares the event loop, so one for all. */
export const turnWrites = new TurnWrites();
